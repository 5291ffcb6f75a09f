// How a hooked transfer runs on a coroutine: try the call with MSG_DONTWAIT (a socket's
// open file is never switched to non-blocking, so nothing another process or thread
// shares with it changes), and when it would block on a descriptor the application left
// blocking, park until the descriptor is ready and try again.
#pragma once

#include "common.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <vector>

namespace braid::hooks::detail {

/// A receive: `attempt(extra_flags)` returns the first data (or EOF or an error). The
/// socket's SO_RCVTIMEO bounds the whole call (then -1/EAGAIN, as the kernel reports).
template <class Attempt>
ssize_t receive(const braid_hooks_entry* rt, int fd, Attempt&& attempt) {
  // Read once: Asio's speculative reads on braid's own (non-blocking) sockets come here
  // and mostly end in EAGAIN, so one F_GETFL per call is their whole extra cost.
  const bool nonblocking = app_nonblocking(fd);
  if (!nonblocking) {
    if (const int err = cooperate(rt)) return fail(err);
  }
  CallDeadline deadline(fd, SO_RCVTIMEO);
  for (;;) {
    const ssize_t r = attempt(MSG_DONTWAIT);
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return r;
    if (nonblocking) return fail(EAGAIN);
    if (const int err = park_on(rt, fd, false, deadline)) return fail(err);
  }
}

/// A send of `total` bytes: `attempt(extra_flags, done)` sends what is left after the
/// first `done` bytes. A blocking stream send returns once everything is queued, so it
/// goes on after a partial send; a failure, the SO_SNDTIMEO timeout or an interrupt after
/// some progress returns the count sent so far (as the kernel does), else -1 and errno.
template <class Attempt>
ssize_t transmit(const braid_hooks_entry* rt, int fd, std::size_t total, Attempt&& attempt) {
  const bool nonblocking = app_nonblocking(fd);  // read once, as in receive()
  if (!nonblocking) {
    if (const int err = cooperate(rt)) return fail(err);
  }
  CallDeadline deadline(fd, SO_SNDTIMEO);
  std::size_t done = 0;
  for (;;) {
    const ssize_t r = attempt(MSG_DONTWAIT, done);
    if (r >= 0) {
      done += static_cast<std::size_t>(r);
      if (done >= total || r == 0) return static_cast<ssize_t>(done);
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return done > 0 ? static_cast<ssize_t>(done) : -1;
    }
    if (nonblocking) return done > 0 ? static_cast<ssize_t>(done) : fail(EAGAIN);
    if (const int err = park_on(rt, fd, true, deadline)) {
      return done > 0 ? static_cast<ssize_t>(done) : fail(err);
    }
  }
}

/// read/write family on a descriptor that is not a socket (a pipe, a terminal, a FIFO):
/// there is no per-call MSG_DONTWAIT, so wait for readiness, then make the real call.
/// A pipe write bigger than the room left may still block the thread part of the way.
template <class Call>
ssize_t on_non_socket(const braid_hooks_entry* rt, int fd, bool writing, Call&& call) {
  if (app_nonblocking(fd)) return call();
  CallDeadline none(fd, 0);
  while (ready_now(fd, writing ? POLLOUT : POLLIN) == 0) {
    if (const int err = park_on(rt, fd, writing, none)) return fail(err);
  }
  return call();
}

/// The part of an iovec array after the first `skip` bytes (a copy: the caller's array
/// is const).
std::vector<iovec> iov_after(const iovec* iov, std::size_t count, std::size_t skip);
/// Total length of an iovec array.
std::size_t iov_total(const iovec* iov, std::size_t count) noexcept;
/// True for SOCK_STREAM sockets (where MSG_WAITALL gathers several segments).
bool is_stream(int fd) noexcept;

}  // namespace braid::hooks::detail
