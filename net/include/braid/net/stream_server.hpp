// StreamServer: gevent's StreamServer — one coroutine per accepted connection.
#pragma once

#include <braid/net/tcp_listener.hpp>
#include <braid/net/tcp_stream.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace braid::net {

struct ServerOptions {
  std::size_t max_connections = 0;  // live handlers at most (0 = no limit); the rest
                                    // wait in the listen backlog
  int backlog = 1024;               // listen(2) backlog
  bool reuse_port = false;          // SO_REUSEPORT (pre-forked servers sharing a port)
};

/// Accepts connections and runs `handler(stream)` for each in its own coroutine; the
/// stream is closed when the handler returns. An exception from a handler is logged
/// (at error) and closes that connection only; a kill (GreenletExit) is not logged.
/// @par Example
/// @code
///   braid::net::StreamServer server("127.0.0.1", 0, [](braid::net::TcpStream& s) {
///     char buf[4096];
///     while (std::size_t n = s.recv(buf)) s.sendall({buf, n});
///   });
///   server.start();                 // bound and accepting in the background
///   std::printf("listening on %u\n", server.port());
///   server.serve_forever();         // parks until stop()
/// @endcode
class StreamServer {
 public:
  using Handler = std::function<void(TcpStream&)>;

  /// Nothing is bound until start() (or serve_forever()).
  StreamServer(std::string host, std::uint16_t port, Handler handler, ServerOptions opts = {});
  /// Serves on an already bound listener (e.g. one inherited across fork()).
  StreamServer(TcpListener listener, Handler handler, ServerOptions opts = {});
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;
  /// Stops at once (stop(0s)): handlers still running are killed.
  ~StreamServer();

  /// Binds (unless given a listener) and spawns the accept loop; returns at once.
  /// @throws std::system_error  bind failed ("bind 127.0.0.1:80: Permission denied").
  /// @throws std::logic_error   started twice, or after stop().
  void start();
  /// start() if needed, then parks until stop() is called (from another coroutine, a
  /// signal watcher or a handler).
  void serve_forever();
  /// Closes the listener, lets running handlers finish for `grace` (nullopt: as long as
  /// they take), then kills the rest and waits for them to unwind. A handler may call
  /// it (it is not killed itself). Parks; a second call does nothing.
  void stop(std::optional<Duration> grace = {});

  /// The bound port (after start()); 0 before.
  std::uint16_t port() const;
  /// Handlers running now.
  std::size_t connection_count() const;
  bool started() const;
  bool closed() const;

  struct State;  // shared with the accept loop and the handlers

 private:
  std::shared_ptr<State> st_;
};

}  // namespace braid::net
