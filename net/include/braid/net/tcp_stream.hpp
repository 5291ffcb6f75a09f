// TcpStream: a connected TCP socket whose calls park only the calling coroutine.
#pragma once

#include <braid/net/stream_socket.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace braid::net {

class TcpListener;

/// A connected TCP socket (Python's `socket.create_connection`, gevent's cooperative
/// socket). Move-only; closing happens in the destructor at the latest.
///
/// Every call parks only the calling coroutine (in `main`, it runs the hub until it can
/// return). It also models Asio's SyncReadStream/SyncWriteStream (read_some/write_some,
/// inherited), so Boost.Beast's synchronous HTTP API runs on it cooperatively.
/// TCP_NODELAY is on (as in Go): small writes go out at once.
/// @par Example
/// @code
///   auto s = braid::net::TcpStream::connect("127.0.0.1", 8080, 5s);
///   s.sendall("ping");
///   char buf[4];
///   s.recv_exact(buf);
/// @endcode
class TcpStream : public StreamSocket {
 public:
  TcpStream() noexcept = default;

  /// Resolves `host` (numeric addresses directly, names through getaddrinfo on braid's
  /// thread pool, so the loop never blocks) and connects to each address in turn until
  /// one accepts. `timeout` bounds the whole call (resolution included).
  /// @throws std::system_error  "connect 127.0.0.1:9: Connection refused" (last address
  ///                            tried), or "resolve no.such.host: ..." .
  /// @throws TimeoutError       `timeout` passed, or an enclosing Timeout fired.
  static TcpStream connect(std::string_view host, std::uint16_t port,
                           std::optional<Duration> timeout = {});

  /// Turns Nagle's algorithm off (true, the default) or on.
  void set_nodelay(bool on);

 private:
  friend class TcpListener;
  TcpStream(int fd, const detail::SockAddr& peer, const char* what)
      : StreamSocket(fd, peer, what) {}
};

}  // namespace braid::net
