// TcpStream::connect and TcpListener.
#include <braid/net/tcp_listener.hpp>
#include <braid/net/tcp_stream.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include "socket_ops.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace braid::net {

using detail::error_code;

TcpStream TcpStream::connect(std::string_view host, std::uint16_t port,
                             std::optional<Duration> timeout) {
  const detail::CallDeadline deadline(timeout);
  const std::vector<detail::SockAddr> addrs = detail::resolve(host, port, SOCK_STREAM, false);
  error_code last;
  std::string last_what;
  for (const auto& addr : addrs) {
    const std::string what = fmt::format("connect {}", addr.to_string());
    error_code ec;
    const int fd = detail::open_socket(addr.storage.ss_family, SOCK_STREAM, ec);
    if (fd < 0) detail::throw_error(ec, what);  // EMFILE: no point trying the others
    TcpStream s(fd, addr, "connect");
    s.connect_to(addr, deadline, ec);
    if (ec == boost::asio::error::timed_out) detail::throw_timeout(what, timeout);
    if (!ec) {
      s.set_nodelay(true);
      return s;
    }
    last = ec;
    last_what = what;
  }
  detail::throw_error(last, last_what);
}

void TcpStream::set_nodelay(bool on) {
  error_code ec;
  if (!detail::set_option(native_handle(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, ec)) {
    detail::throw_error(ec, fmt::format("setsockopt TCP_NODELAY on {}", peer().to_string()));
  }
}

namespace detail {
int bind_tcp_socket(const SockAddr& addr, bool reuse_port) {
  const std::string what = fmt::format("bind {}", addr.to_string());
  error_code ec;
  braid::detail::UniqueFd fd(open_socket(addr.storage.ss_family, SOCK_STREAM, ec));
  if (fd.get() < 0) throw_error(ec, what);
  if (!set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, ec)) {
    throw_error(ec, what + ": SO_REUSEADDR");
  }
  if (reuse_port && !set_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, ec)) {
    throw_error(ec, what + ": SO_REUSEPORT");
  }
  if (!bind_to(fd.get(), addr, ec)) throw_error(ec, what);
  return fd.release();
}
}  // namespace detail

TcpListener TcpListener::bind(std::string_view host, std::uint16_t port, int backlog,
                              bool reuse_port) {
  const std::vector<detail::SockAddr> addrs = detail::resolve(host, port, SOCK_STREAM, true);
  return listen_on_address(addrs.front(), backlog, reuse_port);
}

TcpListener TcpListener::listen_on_address(const detail::SockAddr& addr, int backlog,
                                           bool reuse_port) {
  braid::detail::UniqueFd fd(detail::bind_tcp_socket(addr, reuse_port));
  const std::string what = fmt::format("bind {}", addr.to_string());
  error_code ec;
  detail::SockAddr local;
  if (!detail::local_name(fd.get(), local, ec)) detail::throw_error(ec, what + ": getsockname");
  if (!detail::listen_on(fd.get(), backlog, ec)) {
    detail::throw_error(ec, fmt::format("listen on {}", local.to_string()));
  }
  return TcpListener(detail::ListenerCore(fd.release(), local.to_string()));
}

TcpListener TcpListener::adopt(int fd) {
  const std::string what = fmt::format("adopting fd {} as a TCP listener", fd);
  braid::detail::UniqueFd owned(fd);
  error_code ec;
  int accepting = 0;
  if (!detail::get_option(fd, SOL_SOCKET, SO_ACCEPTCONN, accepting, ec)) {
    if (ec == boost::system::errc::bad_file_descriptor) {
      (void)owned.release();  // no descriptor at all: nothing to close
      detail::throw_error(ec, what);
    }
    throw std::invalid_argument(fmt::format("{}: not a socket ({})", what, ec.message()));
  }
  int type = 0;
  if (!detail::get_option(fd, SOL_SOCKET, SO_TYPE, type, ec) || type != SOCK_STREAM) {
    throw std::invalid_argument(what + ": not a stream socket");
  }
  if (accepting == 0) throw std::invalid_argument(what + ": the socket is not listening");
  detail::SockAddr local;
  if (!detail::local_name(fd, local, ec)) detail::throw_error(ec, what + ": getsockname");
  const int family = local.storage.ss_family;
  if (family != AF_INET && family != AF_INET6) {
    throw std::invalid_argument(what + ": not a TCP (IPv4 or IPv6) socket");
  }
  if (!detail::make_nonblocking_cloexec(fd, ec)) detail::throw_error(ec, what);
  return TcpListener(detail::ListenerCore(owned.release(), local.to_string()));
}

TcpStream TcpListener::accept() {
  detail::SockAddr peer;
  const int fd = core_.accept(peer);
  TcpStream s(fd, peer, "accept");
  error_code ec;
  detail::set_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, ec);  // best effort
  return s;
}

std::optional<TcpStream> TcpListener::try_accept() {
  detail::SockAddr peer;
  const int fd = core_.try_accept(peer);
  if (fd < 0) return std::nullopt;
  TcpStream s(fd, peer, "accept");
  error_code ec;
  detail::set_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, ec);
  return s;
}

Address TcpListener::local_address() const {
  detail::SockAddr a;
  error_code ec;
  if (!core_.is_open()) {
    detail::throw_error(boost::asio::error::bad_descriptor, "getsockname: listener is closed");
  }
  if (!detail::local_name(core_.fd(), a, ec)) {
    detail::throw_error(ec, fmt::format("getsockname for {}", core_.name()));
  }
  return a.to_address();
}

std::uint16_t TcpListener::port() const { return local_address().port; }

}  // namespace braid::net
