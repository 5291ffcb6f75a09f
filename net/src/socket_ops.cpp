#include "socket_ops.hpp"

#include <braid/runtime/detail/sys.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace braid::net::detail {

namespace sys = braid::detail::sys;

error_code make_error(int err) noexcept {
  return error_code(err, boost::system::system_category());
}

error_code last_error() noexcept { return make_error(errno); }

namespace {
bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }
}  // namespace

int open_socket(int family, int type, error_code& ec) noexcept {
  ec.clear();
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ec = last_error();
  return fd;
}

int start_connect(int fd, const SockAddr& to, error_code& ec) noexcept {
  ec.clear();
  if (sys::connect(fd, reinterpret_cast<const sockaddr*>(&to.storage), to.len) == 0) return 0;
  // EAGAIN: a Unix socket whose backlog is full; wait for writability like TCP.
  if (errno == EINPROGRESS || errno == EAGAIN) return 1;
  ec = last_error();
  return -1;
}

error_code finish_connect(int fd) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return last_error();
  return err == 0 ? error_code() : make_error(err);
}

int accept_nonblocking(int listen_fd, SockAddr& peer, error_code& ec) noexcept {
  ec.clear();
  peer.len = sizeof peer.storage;
  const int fd = sys::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer.storage), &peer.len,
                              SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) return fd;
  if (!would_block(errno)) ec = last_error();
  return -1;
}

long send_iov(int fd, const iovec* iov, std::size_t n, const SockAddr* to,
              error_code& ec) noexcept {
  ec.clear();
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = n;
  if (to != nullptr) {
    msg.msg_name = const_cast<sockaddr_storage*>(&to->storage);
    msg.msg_namelen = to->len;
  }
  const ssize_t r = sys::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r >= 0) return r;
  if (!would_block(errno)) ec = last_error();
  return -1;
}

long send_bytes(int fd, const void* data, std::size_t len, error_code& ec) noexcept {
  ec.clear();
  const ssize_t r = sys::send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r >= 0) return r;
  if (!would_block(errno)) ec = last_error();
  return -1;
}

long recv_from(int fd, void* buf, std::size_t len, SockAddr* from, error_code& ec) noexcept {
  ec.clear();
  sockaddr* sa = nullptr;
  socklen_t* sl = nullptr;
  if (from != nullptr) {
    from->len = sizeof from->storage;
    sa = reinterpret_cast<sockaddr*>(&from->storage);
    sl = &from->len;
  }
  const ssize_t r = sys::recvfrom(fd, buf, len, MSG_DONTWAIT, sa, sl);
  if (r >= 0) return r;
  if (!would_block(errno)) ec = last_error();
  return -1;
}

bool bind_to(int fd, const SockAddr& addr, error_code& ec) noexcept {
  ec.clear();
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) == 0) return true;
  ec = last_error();
  return false;
}

bool listen_on(int fd, int backlog, error_code& ec) noexcept {
  ec.clear();
  if (::listen(fd, backlog) == 0) return true;
  ec = last_error();
  return false;
}

bool set_option(int fd, int level, int name, int value, error_code& ec) noexcept {
  ec.clear();
  if (::setsockopt(fd, level, name, &value, sizeof value) == 0) return true;
  ec = last_error();
  return false;
}

bool get_option(int fd, int level, int name, int& value, error_code& ec) noexcept {
  ec.clear();
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) == 0) return true;
  ec = last_error();
  return false;
}

bool make_nonblocking_cloexec(int fd, error_code& ec) noexcept {
  ec.clear();
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    ec = last_error();
    return false;
  }
  return true;
}

bool local_name(int fd, SockAddr& out, error_code& ec) noexcept {
  ec.clear();
  out.len = sizeof out.storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&out.storage), &out.len) == 0) return true;
  ec = last_error();
  return false;
}

bool shutdown_socket(int fd, int how, error_code& ec) noexcept {
  ec.clear();
  if (::shutdown(fd, how) == 0) return true;
  ec = last_error();
  return false;
}

std::optional<SockAddr> parse_numeric(std::string_view host, std::uint16_t port, bool passive) {
  SockAddr a;
  if (host.empty()) {
    if (!passive)
      host = "127.0.0.1";  // Python connects to localhost for ""
    else
      host = "0.0.0.0";
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char text[INET6_ADDRSTRLEN];
  std::memcpy(text, host.data(), host.size());
  text[host.size()] = '\0';
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (::inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

SockAddr unix_address(std::string_view path) {
  SockAddr a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
  un->sun_family = AF_UNIX;
  if (path.empty()) throw std::invalid_argument("unix socket: empty path");
  if (path.size() >= sizeof un->sun_path) {
    throw std::invalid_argument(
        fmt::format("unix socket: path longer than {} bytes: {}", sizeof un->sun_path - 1, path));
  }
  std::memcpy(un->sun_path, path.data(), path.size());
  if (path.front() == '@') {
    un->sun_path[0] = '\0';  // abstract namespace: no file, no trailing NUL
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    if (path.find('\0') != std::string_view::npos) {
      throw std::invalid_argument("unix socket: path contains a NUL byte");
    }
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  }
  return a;
}

}  // namespace braid::net::detail
