#include <braid/net/udp_socket.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include "socket_ops.hpp"

#include <fmt/format.h>

#include <sys/socket.h>

namespace braid::net {

using detail::error_code;

UdpSocket UdpSocket::bind(std::string_view host, std::uint16_t port, bool reuse_port) {
  const auto addrs = detail::resolve(host, port, SOCK_DGRAM, true);
  const detail::SockAddr& addr = addrs.front();
  const std::string what = fmt::format("bind {}", addr.to_string());
  error_code ec;
  braid::detail::UniqueFd fd(detail::open_socket(addr.storage.ss_family, SOCK_DGRAM, ec));
  if (fd.get() < 0) detail::throw_error(ec, what);
  if (reuse_port && !detail::set_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, ec)) {
    detail::throw_error(ec, what + ": SO_REUSEPORT");
  }
  if (!detail::bind_to(fd.get(), addr, ec)) detail::throw_error(ec, what);
  return UdpSocket(fd.release(), "bind");
}

UdpSocket UdpSocket::connect(std::string_view host, std::uint16_t port) {
  const auto addrs = detail::resolve(host, port, SOCK_DGRAM, false);
  const detail::SockAddr& addr = addrs.front();
  const std::string what = fmt::format("connect {}", addr.to_string());
  error_code ec;
  braid::detail::UniqueFd fd(detail::open_socket(addr.storage.ss_family, SOCK_DGRAM, ec));
  if (fd.get() < 0) detail::throw_error(ec, what);
  // A datagram connect only records the peer: it never blocks.
  if (detail::start_connect(fd.get(), addr, ec) < 0) detail::throw_error(ec, what);
  UdpSocket s(fd.release(), "connect");
  s.peer_ = addr;
  return s;
}

UdpSocket UdpSocket::open(bool ipv6) {
  error_code ec;
  const int fd = detail::open_socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM, ec);
  if (fd < 0) detail::throw_error(ec, "socket(SOCK_DGRAM)");
  return UdpSocket(fd, "socket");
}

std::size_t UdpSocket::send_to(std::span<const char> data, const detail::SockAddr* to) {
  const std::string_view verb = to != nullptr ? "sendto" : "send to";
  auto what = [&] { return fmt::format("{} {}", verb, (to != nullptr ? *to : peer_).to_string()); };
  if (!handle_.is_open()) detail::throw_error(boost::asio::error::bad_descriptor, what());
  const detail::CallDeadline deadline(timeout_);
  iovec iov{const_cast<char*>(data.data()), data.size()};
  Hub::current().cooperate();  // a send that never blocks still yields now and then
  for (;;) {
    error_code ec;
    const long r = detail::send_iov(handle_.fd(), &iov, 1, to, ec);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (ec) detail::throw_error(ec, what());
    ec = handle_.wait(true, deadline.remaining(), braid::detail::WaitInfo{"sendto", handle_.fd()});
    if (ec == boost::asio::error::timed_out) detail::throw_timeout(what(), timeout_);
    if (ec) detail::throw_error(ec, what());
  }
}

std::size_t UdpSocket::recv_from(std::span<char> buf, detail::SockAddr* from) {
  auto what = [&] {
    return peer_.len != 0 ? fmt::format("recv from {}", peer_.to_string())
                          : std::string("recvfrom");
  };
  if (!handle_.is_open()) detail::throw_error(boost::asio::error::bad_descriptor, what());
  const detail::CallDeadline deadline(timeout_);
  Hub::current().cooperate();  // datagrams that keep arriving still let the hub run
  for (;;) {
    error_code ec;
    const long r = detail::recv_from(handle_.fd(), buf.data(), buf.size(), from, ec);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (ec) detail::throw_error(ec, what());
    ec = handle_.wait(false, deadline.remaining(),
                      braid::detail::WaitInfo{"recvfrom", handle_.fd()});
    if (ec == boost::asio::error::timed_out) detail::throw_timeout(what(), timeout_);
    if (ec) detail::throw_error(ec, what());
  }
}

std::size_t UdpSocket::send(std::span<const char> data) { return send_to(data, nullptr); }

std::size_t UdpSocket::sendto(std::span<const char> data, const Address& to) {
  auto addr = detail::parse_numeric(to.host, to.port, false);
  if (!addr) {
    const auto addrs = detail::resolve(to.host, to.port, SOCK_DGRAM, false);
    return send_to(data, &addrs.front());
  }
  return send_to(data, &*addr);
}

std::size_t UdpSocket::sendto(std::string_view data, std::string_view host, std::uint16_t port) {
  return sendto(std::span<const char>(data), Address{std::string(host), port});
}

std::size_t UdpSocket::recv(std::span<char> buf) { return recv_from(buf, nullptr); }

std::pair<std::size_t, Address> UdpSocket::recvfrom(std::span<char> buf) {
  detail::SockAddr from;
  const std::size_t n = recv_from(buf, &from);
  return {n, from.to_address()};
}

Address UdpSocket::local_address() const {
  if (!handle_.is_open()) {
    detail::throw_error(boost::asio::error::bad_descriptor, "getsockname: socket is closed");
  }
  detail::SockAddr a;
  error_code ec;
  if (!detail::local_name(handle_.fd(), a, ec)) detail::throw_error(ec, "getsockname");
  return a.to_address();
}

}  // namespace braid::net
