#include <braid/net/unix_socket.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include "socket_ops.hpp"

#include <braid/runtime/log.hpp>

#include <fmt/format.h>

#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace braid::net {

using detail::error_code;

UnixStream UnixStream::connect(std::string_view path, std::optional<Duration> timeout) {
  const detail::CallDeadline deadline(timeout);
  const detail::SockAddr addr = detail::unix_address(path);
  const std::string what = fmt::format("connect {}", path);
  error_code ec;
  const int fd = detail::open_socket(AF_UNIX, SOCK_STREAM, ec);
  if (fd < 0) detail::throw_error(ec, what);
  UnixStream s(fd, addr, "connect");
  s.connect_to(addr, deadline, ec);
  if (ec == boost::asio::error::timed_out) detail::throw_timeout(what, timeout);
  if (ec) detail::throw_error(ec, what);
  return s;
}

std::pair<UnixStream, UnixStream> UnixStream::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    detail::throw_error(detail::last_error(), "socketpair");
  }
  detail::SockAddr unnamed;
  unnamed.storage.ss_family = AF_UNIX;
  unnamed.len = sizeof(sa_family_t);
  braid::detail::UniqueFd second(fds[1]);
  UnixStream a(fds[0], unnamed, "socketpair");
  UnixStream b(second.release(), unnamed, "socketpair");
  return {std::move(a), std::move(b)};
}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : core_(std::move(other.core_)), path_(std::move(other.path_)) {
  other.path_.clear();
}

UnixListener& UnixListener::operator=(UnixListener&& other) noexcept {
  if (this != &other) {
    close();
    core_ = std::move(other.core_);
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

UnixListener UnixListener::bind(std::string_view path, int backlog, bool unlink_existing) {
  const detail::SockAddr addr = detail::unix_address(path);
  const std::string what = fmt::format("bind {}", path);
  const std::string file(path);
  if (unlink_existing && file.front() != '@') ::unlink(file.c_str());
  error_code ec;
  braid::detail::UniqueFd fd(detail::open_socket(AF_UNIX, SOCK_STREAM, ec));
  if (fd.get() < 0) detail::throw_error(ec, what);
  if (!detail::bind_to(fd.get(), addr, ec)) detail::throw_error(ec, what);
  if (!detail::listen_on(fd.get(), backlog, ec)) {
    if (file.front() != '@') ::unlink(file.c_str());
    detail::throw_error(ec, fmt::format("listen on {}", path));
  }
  return UnixListener(detail::ListenerCore(fd.release(), file), file);
}

UnixStream UnixListener::accept() {
  detail::SockAddr peer;
  const int fd = core_.accept(peer);
  return UnixStream(fd, peer, "accept");
}

std::optional<UnixStream> UnixListener::try_accept() {
  detail::SockAddr peer;
  const int fd = core_.try_accept(peer);
  if (fd < 0) return std::nullopt;
  return UnixStream(fd, peer, "accept");
}

void UnixListener::close() noexcept {
  core_.close();
  if (!path_.empty() && path_.front() != '@' && ::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    braid::detail::log().warn("unlink {}: {}", path_, std::strerror(errno));
  }
  path_.clear();
}

}  // namespace braid::net
