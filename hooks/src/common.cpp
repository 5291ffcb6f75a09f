#include "common.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cstddef>

namespace braid::hooks::detail {

bool app_nonblocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

int ready_now(int fd, short events) noexcept {
  pollfd p{fd, events, 0};
  const int n = BRAID_REAL(poll)(&p, 1, 0);
  return n != 0 ? 1 : 0;  // an error: let the real call report it
}

long long now_ns() noexcept {
  // The runtime's clock, so a test clock (testing::ManualClock) holds for hooked calls too.
  const braid_hooks_entry* rt = runtime_entry();
  if (rt != nullptr && rt->size > offsetof(braid_hooks_entry, now_ns)) return rt->now_ns();
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

long long CallDeadline::remaining() noexcept {
  if (!read_) {
    read_ = true;
    timeval tv{};
    socklen_t len = sizeof tv;
    if (opt_ != 0 && ::getsockopt(fd_, SOL_SOCKET, opt_, &tv, &len) == 0 &&
        (tv.tv_sec != 0 || tv.tv_usec != 0)) {
      until_ = now_ns() + static_cast<long long>(tv.tv_sec) * 1'000'000'000LL +
               static_cast<long long>(tv.tv_usec) * 1000LL;
    }
  }
  if (until_ < 0) return -1;
  const long long left = until_ - now_ns();
  return left > 0 ? left : 0;
}

int park_on(const braid_hooks_entry* rt, int fd, bool writable, CallDeadline& deadline) noexcept {
  if (const int err = rt->pending()) return err;
  const long long left = deadline.remaining();
  if (left == 0) return EAGAIN;
  return rt->wait_fd(fd, writable ? 1 : 0, left);
}

int cooperate(const braid_hooks_entry* rt) noexcept {
  return rt->pending() != 0 ? 0 : rt->cooperate();
}

int cooperate(const braid_hooks_entry* rt, int fd) noexcept {
  return app_nonblocking(fd) ? 0 : cooperate(rt);
}

}  // namespace braid::hooks::detail
