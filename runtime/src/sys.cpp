// The waits of detail::sys: after EINTR they wait again for the time left.
#include <braid/runtime/detail/sys.hpp>

#include <chrono>

namespace braid::detail::sys {
namespace {

// Calls wait(timeout) until it is not interrupted, shrinking a positive timeout by the
// time spent. The kernel's timeout is real time, so the deadline is on steady_clock
// itself, never a test clock: a paused clock would make the wait endless.
template <class Wait>
int wait_retrying(int timeout_ms, Wait wait) noexcept {
  using std::chrono::steady_clock;
  const auto until = steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int r = wait(timeout_ms);
    if (r != -1 || errno != EINTR) return r;
    if (timeout_ms > 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - steady_clock::now());
      timeout_ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
    }
  }
}

}  // namespace

int poll(pollfd* fds, nfds_t n, int timeout_ms) noexcept {
  return wait_retrying(timeout_ms, [&](int t) { return ::poll(fds, n, t); });
}

int epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms) noexcept {
  return wait_retrying(timeout_ms,
                       [&](int t) { return ::epoll_wait(epfd, events, max_events, t); });
}

}  // namespace braid::detail::sys
