// ServerGroup: a StreamServer on every core -- pre-forked worker processes, each with its
// own hub, supervised by the parent (gunicorn with gevent workers, built in).
//
// What may switch: start(), serve_forever(), stop() and reload() park the calling
// coroutine (in main they run the hub meanwhile).
#pragma once

#include <braid/net/stream_server.hpp>
#include <braid/process/worker_group.hpp>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braid::net {

/// The supervision settings (workers, stop_grace, restart back-off and cap, start_timeout,
/// on_child_exit) are WorkerGroupOptions' own; the rest is the server's.
struct ServerGroupOptions : process::WorkerGroupOptions {
  /// false (default): the parent binds one listening socket and every worker accepts from
  /// it. A busy worker leaves connections to the others; a reload refuses nothing (the
  /// socket stays open throughout); the workers' accept wake-ups contend on one queue.
  /// true: each worker binds its own socket with SO_REUSEPORT and the kernel spreads new
  /// connections over them by hash. No shared queue, but a slow worker still gets its
  /// share, and connections queued on a worker that stops are reset unless
  /// net.ipv4.tcp_migrate_req is 1. See docs/guide-multicore.md.
  bool reuse_port = false;
  /// Each worker's StreamServer (max_connections is per worker). Its stop_timeout is not
  /// used: a worker stops within the grace the parent gives it (stop_grace by default).
  ServerOptions server;
  /// In each worker, before it serves: open per-worker resources. An exception fails
  /// that worker's start (start() throws; a restart counts towards the cap).
  std::function<void(unsigned index)> on_worker_start;
  /// In each worker, after its server has stopped (handlers finished or killed).
  std::function<void(unsigned index)> on_worker_exit;
};

/// Serves `handler` (as StreamServer) on `host`:`port` from `workers` processes. The
/// parent binds, forks and supervises; it never accepts a connection. A worker that dies
/// is restarted (see WorkerGroup); stop() or SIGTERM/SIGINT (in serve_forever) stops every
/// worker's listener, lets handlers finish within the grace, then kills; SIGHUP or
/// reload() replaces the workers one by one with no refused connection.
/// @par Example
/// @code
///   braid::net::ServerGroupOptions opts;
///   opts.workers = 4;
///   braid::net::ServerGroup group("0.0.0.0", 8080, [](braid::net::TcpStream& s) {
///     char buf[4096];
///     while (std::size_t n = s.recv(buf)) s.sendall({buf, n});
///   }, opts);
///   return group.serve_forever();   // 0 once SIGTERM has stopped every worker
/// @endcode
class ServerGroup {
 public:
  ServerGroup(std::string host, std::uint16_t port, StreamServer::Handler handler,
              ServerGroupOptions opts = {});
  ServerGroup(const ServerGroup&) = delete;
  ServerGroup& operator=(const ServerGroup&) = delete;
  /// Stops at once (stop(0s)) if running, and closes the socket.
  ~ServerGroup();

  /// Binds, forks the workers and parks until each one serves.
  /// @throws std::system_error   bind failed ("bind 0.0.0.0:80: Permission denied").
  /// @throws std::runtime_error  a worker failed to start (every worker is stopped).
  /// @throws std::logic_error    started twice.
  void start();
  /// start() if needed, then serves until SIGTERM or SIGINT (a graceful stop) or the
  /// restart cap; SIGHUP reloads. Returns 0 after a stop, 1 when the cap stopped it.
  int serve_forever();
  /// Stops every worker's listener, lets handlers finish within `grace` (nullopt: the
  /// options' stop_grace), then kills the rest; returns once every worker is reaped.
  void stop(std::optional<Duration> grace = {});
  /// A rolling restart (WorkerGroup::reload).
  bool reload();

  /// The bound port (after start()); 0 before.
  std::uint16_t port() const noexcept;
  /// Pids of the serving workers, by index (0 while one restarts).
  std::vector<pid_t> worker_pids() const;
  /// The supervisor (restarts(), failure(), ...). Valid after start().
  const process::WorkerGroup& workers() const;

  struct State;

 private:
  std::unique_ptr<State> st_;
};

}  // namespace braid::net
