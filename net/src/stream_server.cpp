#include <braid/net/stream_server.hpp>

#include <braid/coro/event.hpp>
#include <braid/coro/semaphore.hpp>
#include <braid/coro/sleep.hpp>
#include <braid/coro/task.hpp>
#include <braid/runtime/log.hpp>

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace braid::net {

using namespace std::chrono_literals;

struct StreamServer::State {
  std::string host;                  // what start() binds to
  std::uint16_t requested_port = 0;  // 0 = ephemeral
  Handler handler;                   // runs once per connection
  ServerOptions opts;
  TcpListener listener;    // open between start() and stop()
  std::string name;        // "127.0.0.1:8080", for logs
  std::uint16_t port = 0;  // bound port
  bool started = false;
  bool closed = false;                                 // stop() was called
  Task<void> acceptor;                                 // the accept loop
  std::optional<Semaphore> room;                       // max_connections slots, when bounded
  std::unordered_map<std::uint64_t, Task<void>> live;  // running handlers by task id
  Event changed;                                       // set whenever a handler finishes
  Event stopped;  // set once stop() is done; serve_forever waits on it
};

namespace {

using State = StreamServer::State;

// The body of one connection's coroutine. The stream is closed when the handler ends,
// however it ends; an exception is logged and touches no other connection.
void run_handler(State& st, TcpStream& stream) {
  const std::uint64_t id = Hub::current().running().id;
  struct Finish {
    State& st;
    std::uint64_t id;
    ~Finish() {
      // The hub keeps this coroutine's record alive until it has switched away, so
      // dropping our own handle here is safe.
      st.live.erase(id);
      if (st.room) st.room->release();
      st.changed.set();
    }
  } finish{st, id};
  try {
    st.handler(stream);
  } catch (const GreenletExit&) {
    stream.close();
    throw;  // being killed (stop() after its grace): unwind, not an error
  } catch (const std::exception& e) {
    braid::detail::log().error("StreamServer {}: handler for {} failed: {}", st.name,
                               stream.peer_address().to_string(), e.what());
  } catch (...) {
    braid::detail::log().error(
        "StreamServer {}: handler for {} failed with a non-standard "
        "exception",
        st.name, stream.peer_address().to_string());
  }
  stream.close();
}

void accept_loop(const std::shared_ptr<State>& st) {
  for (;;) {
    if (st->room) st->room->acquire();  // max_connections: the rest wait in the backlog
    TcpStream stream;
    try {
      stream = st->listener.accept();
    } catch (const GreenletExit&) {
      if (st->room) st->room->release();
      throw;
    } catch (const std::exception& e) {
      if (st->room) st->room->release();
      if (st->closed || !st->listener.is_open()) return;
      braid::detail::log().error("StreamServer {}: {}", st->name, e.what());
      braid::sleep(100ms);  // e.g. a broken listener: do not spin
      continue;
    }
    auto task = braid::spawn([st, s = std::move(stream)]() mutable { run_handler(*st, s); });
    st->live.emplace(task.id(), task);
  }
}

}  // namespace

StreamServer::StreamServer(std::string host, std::uint16_t port, Handler handler,
                           ServerOptions opts)
    : st_(std::make_shared<State>()) {
  if (!handler) throw std::invalid_argument("StreamServer: empty handler");
  st_->host = std::move(host);
  st_->requested_port = port;
  st_->handler = std::move(handler);
  st_->opts = opts;
}

StreamServer::StreamServer(TcpListener listener, Handler handler, ServerOptions opts)
    : st_(std::make_shared<State>()) {
  if (!handler) throw std::invalid_argument("StreamServer: empty handler");
  if (!listener.is_open()) throw std::invalid_argument("StreamServer: listener is closed");
  st_->listener = std::move(listener);
  st_->handler = std::move(handler);
  st_->opts = opts;
}

StreamServer::~StreamServer() {
  if (!st_->started || st_->closed) return;
  try {
    stop(Duration::zero());
  } catch (...) {
    braid::detail::log().warn("StreamServer {}: stop on destruction was interrupted", st_->name);
  }
}

void StreamServer::start() {
  State& st = *st_;
  if (st.closed) throw std::logic_error("StreamServer.start: the server was stopped");
  if (st.started) throw std::logic_error("StreamServer.start: already started");
  if (!st.listener.is_open()) {
    st.listener =
        TcpListener::bind(st.host, st.requested_port, st.opts.backlog, st.opts.reuse_port);
  }
  const Address local = st.listener.local_address();
  st.port = local.port;
  st.name = local.to_string();
  if (st.opts.max_connections > 0) st.room.emplace(st.opts.max_connections);
  st.started = true;
  st.acceptor = braid::spawn(SpawnOptions{"StreamServer " + st.name + " accept", 0},
                             [st = st_] { accept_loop(st); });
}

void StreamServer::serve_forever() {
  if (!st_->started && !st_->closed) start();
  st_->stopped.wait();
}

void StreamServer::stop(std::optional<Duration> grace) {
  State& st = *st_;
  if (st.closed) return;
  st.closed = true;
  // Closing the listener makes the accept loop return by itself (a parked accept wakes
  // with an error; one not yet started fails at once). Only a loop parked waiting for
  // room (max_connections) has to be killed. Killing a task that never started leaks it
  // at present (see the report on Hub::cancel_unstarted), so we never do.
  st.listener.close();
  if (st.acceptor.valid() && !st.acceptor.ready()) {
    if (st.room && st.room->value() == 0) {
      st.acceptor.kill();
    } else {
      st.acceptor.join();
    }
  }

  // A handler may be the one stopping the server: it is neither waited for nor killed.
  const std::uint64_t self = Hub::current().in_coroutine() ? Hub::current().running().id : 0;
  auto others = [&] { return st.live.size() - st.live.count(self); };
  const detail::CallDeadline deadline(grace);
  while (others() > 0) {
    const auto left = deadline.remaining();
    if (left && *left <= Duration::zero()) break;
    st.changed.clear();
    if (!st.changed.wait(left)) break;
  }
  std::vector<Task<void>> rest;
  for (auto& [id, task] : st.live) {
    if (id != self) rest.push_back(task);
  }
  for (auto& t : rest) t.kill(false);
  for (auto& t : rest) t.join();
  st.stopped.set();
}

std::uint16_t StreamServer::port() const { return st_->port; }
std::size_t StreamServer::connection_count() const { return st_->live.size(); }
bool StreamServer::started() const { return st_->started; }
bool StreamServer::closed() const { return st_->closed; }

}  // namespace braid::net
