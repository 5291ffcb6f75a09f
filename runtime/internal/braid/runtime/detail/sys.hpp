// System calls that retry EINTR, so no module writes the loop again. Internal: not part of
// the public API.
//
// Convention: each wrapper has the libc call's name, arguments and return value; failure
// is -1 with errno set, exactly as the call itself reports it, never EINTR (except where
// a note below says otherwise). The wrappers never throw and never park: they are plain
// system calls, for code that has already waited for readiness (or runs on a descriptor
// it is fine to block on).
//
// Why retry: a signal handler installed without SA_RESTART (a profiler's SIGPROF, the
// program's own SIGALRM or SIGCHLD) makes a blocking call fail with EINTR; the call did
// nothing and is safe to repeat. Two exceptions, which are not plain retries:
//  - connect(2): an interrupted connect goes on in the background (POSIX; Linux's TCP);
//    calling it again while it does fails (EALREADY), so sys::connect reports
//    EINPROGRESS instead, which callers handle already (wait for writability, then read
//    SO_ERROR).
//  - close(2): never retried (Linux frees the descriptor before it can be interrupted);
//    see detail::UniqueFd.
// Calls with a timeout (poll, epoll_wait) go on with the time left, not the full timeout.
//
// With braid_hooks preloaded, ::read and friends here are the hooked ones, as they were
// when each module called them directly: hooks/ keeps its own pointers to libc's.
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace braid::detail::sys {

/// Calls `call()` until it returns anything but -1 with errno EINTR; returns that.
template <class Call>
auto retry_eintr(Call call) noexcept(noexcept(call())) -> decltype(call()) {
  for (;;) {
    const auto r = call();
    if (r != -1 || errno != EINTR) return r;
  }
}

inline ssize_t read(int fd, void* buf, std::size_t n) noexcept {
  return retry_eintr([&] { return ::read(fd, buf, n); });
}
inline ssize_t write(int fd, const void* buf, std::size_t n) noexcept {
  return retry_eintr([&] { return ::write(fd, buf, n); });
}
inline ssize_t readv(int fd, const iovec* iov, int n) noexcept {
  return retry_eintr([&] { return ::readv(fd, iov, n); });
}
inline ssize_t writev(int fd, const iovec* iov, int n) noexcept {
  return retry_eintr([&] { return ::writev(fd, iov, n); });
}
inline ssize_t recv(int fd, void* buf, std::size_t n, int flags) noexcept {
  return retry_eintr([&] { return ::recv(fd, buf, n, flags); });
}
inline ssize_t recvfrom(int fd, void* buf, std::size_t n, int flags, sockaddr* from,
                        socklen_t* from_len) noexcept {
  // The address length is in-out: each attempt starts from the caller's value.
  const socklen_t len = from_len != nullptr ? *from_len : 0;
  return retry_eintr([&] {
    if (from_len != nullptr) *from_len = len;
    return ::recvfrom(fd, buf, n, flags, from, from_len);
  });
}
inline ssize_t send(int fd, const void* buf, std::size_t n, int flags) noexcept {
  return retry_eintr([&] { return ::send(fd, buf, n, flags); });
}
inline ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept {
  return retry_eintr([&] { return ::recvmsg(fd, msg, flags); });
}
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return retry_eintr([&] { return ::sendmsg(fd, msg, flags); });
}
/// `addr_len` is in-out: each attempt starts from the caller's value.
inline int accept4(int fd, sockaddr* addr, socklen_t* addr_len, int flags) noexcept {
  const socklen_t len = addr_len != nullptr ? *addr_len : 0;
  return retry_eintr([&] {
    if (addr_len != nullptr) *addr_len = len;
    return ::accept4(fd, addr, addr_len, flags);
  });
}
/// Not retried: an interrupted connect goes on in the background (Linux), so EINTR comes
/// back as EINPROGRESS (wait for writability, then read SO_ERROR), as for a
/// non-blocking socket.
inline int connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  const int r = ::connect(fd, addr, len);
  if (r == -1 && errno == EINTR) errno = EINPROGRESS;
  return r;
}
inline pid_t waitpid(pid_t pid, int* status, int options) noexcept {
  return retry_eintr([&] { return ::waitpid(pid, status, options); });
}
inline int waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept {
  return retry_eintr([&] { return ::waitid(type, id, info, options); });
}

/// poll(2); an interrupted wait goes on for the time left of `timeout_ms` (-1: none).
int poll(pollfd* fds, nfds_t n, int timeout_ms) noexcept;
/// epoll_wait(2); an interrupted wait goes on for the time left of `timeout_ms`.
int epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms) noexcept;

}  // namespace braid::detail::sys
