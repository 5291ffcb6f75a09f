// TcpListener: a listening TCP socket whose accept() parks only the calling coroutine.
#pragma once

#include <braid/net/address.hpp>
#include <braid/net/detail/listener_core.hpp>
#include <braid/net/tcp_stream.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace braid::net {

/// A bound, listening TCP socket. Move-only.
/// @par Example
/// @code
///   auto l = braid::net::TcpListener::bind("127.0.0.1", 0);   // ephemeral port
///   std::printf("listening on %u\n", l.port());
///   for (;;) braid::spawn([s = l.accept()]() mutable { echo(s); });
/// @endcode
class TcpListener {
 public:
  TcpListener() noexcept = default;

  /// Binds to `host` ("" or "0.0.0.0" = every IPv4 interface, "::" = IPv6) and `port`
  /// (0 = ephemeral) with SO_REUSEADDR, and listens. `reuse_port` sets SO_REUSEPORT, so
  /// several processes (pre-fork) can share the port. Names resolve on the thread pool.
  /// @throws std::system_error  "bind 127.0.0.1:80: Permission denied", ...
  static TcpListener bind(std::string_view host, std::uint16_t port, int backlog = 1024,
                          bool reuse_port = false);
  /// Takes ownership of `fd`, a listening TCP socket made elsewhere (inherited across
  /// fork() or exec, or from release()), makes it non-blocking and close-on-exec, and
  /// registers it with the calling thread's hub (Python's socket(fileno=fd)).
  /// @throws std::invalid_argument  `fd` is not a listening TCP socket (it is closed).
  /// @throws std::system_error      `fd` is not an open descriptor.
  static TcpListener adopt(int fd);

  /// Waits for and accepts the next connection, parking only the calling coroutine.
  /// Aborted connections are skipped; EMFILE/ENFILE are logged and retried after a
  /// back-off, so a server survives running out of descriptors.
  /// @throws TimeoutError       set_timeout's limit passed, or an enclosing Timeout fired.
  /// @throws std::system_error  the listener is closed or broken.
  TcpStream accept();
  /// Accepts a pending connection without parking; nullopt when none is pending.
  std::optional<TcpStream> try_accept();

  /// The bound port (the ephemeral one when bound to port 0).
  std::uint16_t port() const;
  Address local_address() const;
  /// Closes the socket; a coroutine parked in accept() wakes with std::system_error.
  void close() noexcept { core_.close(); }
  /// Gives the descriptor up, still bound and listening, and leaves the listener empty:
  /// it is no longer registered with the hub (a coroutine parked in accept() wakes with
  /// std::system_error) and the caller closes it. -1 when the listener holds none. Used
  /// to keep a socket for forked workers without the parent's loop waking per connection.
  int release() noexcept { return core_.release(); }
  bool is_open() const noexcept { return core_.is_open(); }
  int native_handle() const noexcept { return core_.fd(); }
  /// Limit for each later accept(); nullopt = none.
  void set_timeout(std::optional<Duration> t) noexcept { core_.set_timeout(t); }

 private:
  friend class ServerGroup;
  /// bind() after name resolution: one address.
  static TcpListener listen_on_address(const detail::SockAddr& addr, int backlog,
                                       bool reuse_port);
  explicit TcpListener(detail::ListenerCore core) : core_(std::move(core)) {}
  detail::ListenerCore core_;  // descriptor and accept loop
};

}  // namespace braid::net
