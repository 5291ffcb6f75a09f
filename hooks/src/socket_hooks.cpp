// connect and accept/accept4 on a braid coroutine.
#include "common.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

using namespace braid::hooks::detail;

namespace {

// A blocking connect with the coroutine parked instead of the thread. There is no
// per-call "don't wait" for connect, so the socket is non-blocking only for the connect
// call itself (microseconds, on a socket nothing else uses before it is connected), and
// the wait for the handshake is a wait for writability, bounded by SO_SNDTIMEO as the
// kernel's is (then -1/EINPROGRESS, the kernel's answer too).
int cooperative_connect(const braid_hooks_entry* rt, int fd, const sockaddr* addr, socklen_t len) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_NONBLOCK) != 0) return BRAID_REAL(connect)(fd, addr, len);
  if (const int err = rt->pending()) return fail(err);
  CallDeadline deadline(fd, SO_SNDTIMEO);
  int backoff_ms = 1;
  for (;;) {
    if (::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return BRAID_REAL(connect)(fd, addr, len);
    const int r = BRAID_REAL(connect)(fd, addr, len);
    const int err = errno;
    ::fcntl(fd, F_SETFL, flags);
    if (r == 0) return 0;
    if (err == EAGAIN && addr != nullptr && addr->sa_family == AF_UNIX) {
      // A Unix listener's backlog is full: the blocking call would wait for room, which
      // no readiness event announces; retry after a short, growing pause.
      const long long left = deadline.remaining();
      if (left == 0) return fail(EAGAIN);
      long long pause = static_cast<long long>(backoff_ms) * 1'000'000LL;
      if (left > 0 && left < pause) pause = left;
      if (const int e = rt->sleep(pause)) return fail(e);
      backoff_ms = backoff_ms < 64 ? backoff_ms * 2 : 64;
      continue;
    }
    if (err != EINPROGRESS) return fail(err);
    break;
  }
  if (const int err = park_on(rt, fd, true, deadline)) {
    return fail(err == EAGAIN ? EINPROGRESS : err);  // a socket timeout: the kernel's errno
  }
  int so_error = 0;
  socklen_t elen = sizeof so_error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &elen) < 0) return -1;
  return so_error == 0 ? 0 : fail(so_error);
}

// accept has no per-call "don't wait" either: it is called once poll says a connection
// is there. Between that poll and the accept only another thread or process accepting
// on the same listener can take the connection (coroutines of this thread cannot run in
// between); then this thread blocks in accept until the next one, a documented limit.
template <class Call>
int cooperative_accept(const braid_hooks_entry* rt, int fd, Call&& call) {
  if (const int err = cooperate(rt, fd)) return fail(err);
  CallDeadline deadline(fd, SO_RCVTIMEO);
  while (ready_now(fd, POLLIN) == 0) {
    if (app_nonblocking(fd)) break;  // the real call says EAGAIN
    if (const int err = park_on(rt, fd, false, deadline)) return fail(err);
  }
  return call();
}

}  // namespace

extern "C" {

int connect(int fd, const sockaddr* addr, socklen_t len) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(connect)(fd, addr, len);
  return cooperative_connect(rt, fd, addr, len);
}

int accept(int fd, sockaddr* addr, socklen_t* len) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(accept)(fd, addr, len);
  return cooperative_accept(rt, fd, [&] { return BRAID_REAL(accept)(fd, addr, len); });
}

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(accept4)(fd, addr, len, flags);
  return cooperative_accept(rt, fd, [&] { return BRAID_REAL(accept4)(fd, addr, len, flags); });
}

}  // extern "C"
