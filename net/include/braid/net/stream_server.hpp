// StreamServer: gevent's StreamServer — one coroutine per accepted connection.
#pragma once

#include <braid/net/tcp_listener.hpp>
#include <braid/net/tcp_stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace braid::net {

class TlsContext;  // <braid/net/tls_stream.hpp>
class TlsStream;

struct ServerOptions {
  std::size_t max_connections = 0;  // live handlers at most (0 = no limit); the rest
                                    // wait in the listen backlog
  int backlog = 1024;               // listen(2) backlog
  bool reuse_port = false;          // SO_REUSEPORT (pre-forked servers sharing a port)
  // New fields go last: users aggregate-initialise the first three ({max, backlog, reuse}).
  // stop()'s grace when it is given none (gevent's stop_timeout).
  Duration stop_timeout = std::chrono::seconds(1);
  // Shut a connection down when its handler waits on it (recv/send) while no byte has
  // moved either way for this long (Linux: the kernel's TCP_INFO times). nullopt = never.
  std::optional<Duration> idle_timeout = std::nullopt;
  // TLS servers: bounds each connection's handshake, and the close_notify exchange after
  // its handler returns. A client that stalls longer is dropped (counted in peer_errors).
  Duration tls_handshake_timeout = std::chrono::seconds(10);
};

/// What a StreamServer has done since it was constructed (StreamServer::stats()). Every
/// accepted connection is either live or closed: accepted == live + closed. Each closed
/// connection ended its handler one way: returned, threw (handler_errors or peer_errors),
/// or was killed by stop() (the rest).
struct ServerStats {
  std::uint64_t accepted = 0;  // connections accepted (each got a handler coroutine)
  std::uint64_t live = 0;      // handlers running now (connection_count())
  std::uint64_t closed = 0;    // connections whose handler has ended, however it ended
  /// Handlers that ended with an exception logged at error: anything but GreenletExit
  /// (a kill) and a peer that went away.
  std::uint64_t handler_errors = 0;
  /// Handlers that ended with an exception meaning the peer went away (reset, broken
  /// pipe, EOF mid-message, a TLS error; logged at debug): the client's doing, not the
  /// server's. On a TLS server, also the failed or timed-out handshakes (their handler
  /// never ran).
  std::uint64_t peer_errors = 0;
};

/// Accepts connections and runs `handler(stream)` for each in its own coroutine; the
/// stream is closed when the handler returns. An exception from a handler is logged
/// and closes that connection only: at error, except a peer that went away (reset,
/// broken pipe, EOF mid-message), which is logged at debug; a kill (GreenletExit) is
/// not logged.
///
/// With `idle_timeout`, a sweeper coroutine checks the connections every quarter of it:
/// one whose handler is parked in recv/send on it while no byte has moved in either
/// direction for `idle_timeout` is shut down (the handler's recv returns 0, a send fails
/// with EPIPE, the peer sees EOF), so idle clients cannot hold every max_connections
/// slot. The echo path pays nothing for it: the kernel keeps the last-traffic times.
///
/// Given a TlsContext (TlsContext::server), each connection's coroutine first runs the
/// TLS handshake (bounded by tls_handshake_timeout), then `handler(TlsStream&)`, then
/// sends close_notify if the handler returned normally (the same bound). A failed
/// handshake closes that connection only, logged at debug and counted in peer_errors.
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
  using TlsHandler = std::function<void(TlsStream&)>;

  /// Nothing is bound until start() (or serve_forever()).
  StreamServer(std::string host, std::uint16_t port, Handler handler, ServerOptions opts = {});
  /// Serves on an already bound listener (e.g. one inherited across fork()).
  StreamServer(TcpListener listener, Handler handler, ServerOptions opts = {});
  /// A TLS server (include <braid/net/tls_stream.hpp>): `tls` must be a server context.
  /// @throws std::invalid_argument  a client context, or an empty handler.
  StreamServer(std::string host, std::uint16_t port, const TlsContext& tls, TlsHandler handler,
               ServerOptions opts = {});
  StreamServer(TcpListener listener, const TlsContext& tls, TlsHandler handler,
               ServerOptions opts = {});
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
  /// @throws std::system_error as start(), and the parking-call errors (errors.hpp).
  void serve_forever();
  /// Closes the listener, lets running handlers finish for `grace` (nullopt: the
  /// options' stop_timeout, 1 s by default), then kills the rest (GreenletExit) and
  /// waits up to 1 s for them to unwind; a handler still running after that has its
  /// connection closed and is left behind (logged). Always returns. A handler may call
  /// it (it is neither waited for nor killed). Parks; a second call does nothing.
  void stop(std::optional<Duration> grace = {});

  /// The bound port (after start()); 0 before.
  std::uint16_t port() const;
  /// Handlers running now.
  std::size_t connection_count() const;
  /// The server's counters (see ServerStats): a copy of a few integers, kept by plain
  /// increments on the hub's thread. Call on that thread. There is no count of refused
  /// connections: with max_connections the rest wait in the listen backlog (the kernel
  /// refuses or drops them only once the backlog is full, unseen by the server).
  ServerStats stats() const;
  bool started() const;
  bool closed() const;

  struct State;  // shared with the accept loop and the handlers

 private:
  std::shared_ptr<State> st_;
};

}  // namespace braid::net
