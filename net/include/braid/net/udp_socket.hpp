// UdpSocket: a UDP socket whose calls park only the calling coroutine.
#pragma once

#include <braid/net/address.hpp>
#include <braid/net/detail/socket_handle.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace braid::net {

/// A UDP socket (Python's `socket(AF_INET, SOCK_DGRAM)`). Move-only.
/// @par Example
/// @code
///   auto server = braid::net::UdpSocket::bind("127.0.0.1", 0);
///   auto client = braid::net::UdpSocket::connect("127.0.0.1", server.port());
///   client.send(std::string_view("ping"));
///   char buf[64];
///   auto [n, from] = server.recvfrom(buf);
///   server.sendto(std::span<const char>(buf, n), from);
/// @endcode
class UdpSocket {
 public:
  UdpSocket() noexcept = default;

  /// Binds to `host`:`port` (0 = ephemeral). `reuse_port` sets SO_REUSEPORT.
  static UdpSocket bind(std::string_view host, std::uint16_t port, bool reuse_port = false);
  /// An unbound socket of the family of `host`, connected to `host`:`port`: send/recv
  /// then talk to that peer only (the kernel filters other senders).
  static UdpSocket connect(std::string_view host, std::uint16_t port);
  /// An unbound IPv4 (or IPv6) socket for sendto(); the kernel binds it on first send.
  static UdpSocket open(bool ipv6 = false);

  /// Sends one datagram to the connected peer; returns its size.
  /// @throws std::system_error  e.g. "send to 127.0.0.1:9: Connection refused" (an ICMP
  ///                            error from an earlier datagram), EMSGSIZE.
  std::size_t send(std::span<const char> data);
  /// Sends one datagram to `to` (numeric host; names through sendto(data, host, port)).
  std::size_t sendto(std::span<const char> data, const Address& to);
  std::size_t sendto(std::string_view data, std::string_view host, std::uint16_t port);
  /// Receives one datagram (truncated to `buf.size()`), parking until one arrives.
  std::size_t recv(std::span<char> buf);
  /// As recv, also returning the sender.
  std::pair<std::size_t, Address> recvfrom(std::span<char> buf);

  void set_timeout(std::optional<Duration> t) noexcept { timeout_ = t; }
  std::optional<Duration> timeout() const noexcept { return timeout_; }
  void close() noexcept { handle_.close(); }
  bool is_open() const noexcept { return handle_.is_open(); }
  int native_handle() const noexcept { return handle_.fd(); }
  Address local_address() const;
  std::uint16_t port() const { return local_address().port; }

 private:
  UdpSocket(int fd, const char* what) : handle_(fd, what) {}
  std::size_t send_to(std::span<const char> data, const detail::SockAddr* to);
  std::size_t recv_from(std::span<char> buf, detail::SockAddr* from);

  detail::SocketHandle handle_;      // the descriptor and its reactor registration
  detail::SockAddr peer_;            // the connected peer, for messages (len 0 if none)
  std::optional<Duration> timeout_;  // per-call limit
};

}  // namespace braid::net
