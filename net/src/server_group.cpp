#include <braid/net/server_group.hpp>

#include <braid/coro/task.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include "socket_ops.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include <unistd.h>

namespace braid::net {

struct ServerGroup::State {
  std::string host;
  std::uint16_t requested_port = 0;
  StreamServer::Handler handler;
  ServerGroupOptions opts;
  // Shared mode: the listening socket every worker accepts from. reuse_port mode: a socket
  // bound to the port but not listening, which holds the port (an ephemeral one too)
  // without taking connections; each worker binds its own beside it.
  braid::detail::UniqueFd socket_fd;
  detail::SockAddr address;  // what the workers bind to (reuse_port mode)
  std::uint16_t port = 0;
  std::unique_ptr<process::WorkerGroup> group;

  // The worker's own listener, in the worker process.
  TcpListener worker_listener() {
    if (!opts.reuse_port) {
      return TcpListener::adopt(socket_fd.release());  // the listener owns this process's copy now
    }
    socket_fd.reset();  // the parent's placeholder: not ours to hold
    return TcpListener::listen_on_address(address, opts.server.backlog, true);
  }

  // Runs in each worker process (on its copy of this state).
  void serve_in_worker(process::WorkerContext& ctx) {
    // The hook first: with reuse_port, a bound socket takes its share of new connections
    // at once, and they would wait for a worker still busy in its hook.
    if (opts.on_worker_start) opts.on_worker_start(ctx.index());
    TcpListener listener = worker_listener();
    StreamServer server(std::move(listener), handler, opts.server);
    server.start();
    ctx.ready();
    auto stopper =
        spawn(SpawnOptions{"server stop", 0}, [&server, &ctx] { server.stop(ctx.wait_stop()); });
    server.serve_forever();
    stopper.join();  // stop() returns once the handlers have finished or been killed
    if (opts.on_worker_exit) opts.on_worker_exit(ctx.index());
  }
};

ServerGroup::ServerGroup(std::string host, std::uint16_t port, StreamServer::Handler handler,
                         ServerGroupOptions opts)
    : st_(std::make_unique<State>()) {
  if (!handler) throw std::invalid_argument("ServerGroup: the handler is empty");
  st_->host = std::move(host);
  st_->requested_port = port;
  st_->handler = std::move(handler);
  st_->opts = std::move(opts);
}

ServerGroup::~ServerGroup() = default;  // the WorkerGroup stops its workers

void ServerGroup::start() {
  if (st_->group) throw std::logic_error("ServerGroup: started twice");
  State& st = *st_;
  const auto addrs = detail::resolve(st.host, st.requested_port, SOCK_STREAM, true);
  if (st.opts.reuse_port) {
    braid::detail::UniqueFd fd(detail::bind_tcp_socket(addrs.front(), true));
    detail::error_code ec;
    if (!detail::local_name(fd.get(), st.address, ec)) {
      detail::throw_error(ec, fmt::format("bind {}: getsockname", addrs.front().to_string()));
    }
    st.socket_fd = std::move(fd);
    st.port = st.address.to_address().port;
  } else {
    TcpListener listener =
        TcpListener::listen_on_address(addrs.front(), st.opts.server.backlog, false);
    st.port = listener.port();
    // Not registered with the parent's hub: its loop must not wake for every connection.
    st.socket_fd.reset(listener.release());
  }
  process::WorkerGroupOptions group_opts = st.opts;  // the supervision half
  if (group_opts.name == process::WorkerGroupOptions{}.name) group_opts.name = "server worker";
  State* raw = st_.get();
  st.group = std::make_unique<process::WorkerGroup>(
      [raw](process::WorkerContext& ctx) { raw->serve_in_worker(ctx); }, std::move(group_opts));
  st.group->start();
}

int ServerGroup::serve_forever() {
  if (!st_->group) start();
  const int code = st_->group->run();
  st_->socket_fd.reset();
  return code;
}

void ServerGroup::stop(std::optional<Duration> grace) {
  if (!st_->group) return;
  st_->group->stop(grace);
  st_->socket_fd.reset();
}

bool ServerGroup::reload() { return st_->group && st_->group->reload(); }

std::uint16_t ServerGroup::port() const noexcept { return st_->port; }

std::vector<pid_t> ServerGroup::worker_pids() const {
  return st_->group ? st_->group->pids() : std::vector<pid_t>{};
}

const process::WorkerGroup& ServerGroup::workers() const {
  if (!st_->group) throw std::logic_error("ServerGroup: workers() before start()");
  return *st_->group;
}

}  // namespace braid::net
