#include <braid/runtime/wait.hpp>

#include <braid/runtime/detail/fd_watcher.hpp>

namespace braid {
namespace detail {

void wait_fd(int fd, bool writable, std::optional<Duration> timeout, const char* what) {
  // A watcher for this wait only. Its private duplicate gets its own epoll registration:
  // waiting on a descriptor that an Asio socket (or another waiter) already registered
  // would otherwise fail with EEXIST.
  FdWatcher::wait_once(fd, writable, timeout, what);
}

}  // namespace detail

void wait_readable(int fd, std::optional<Duration> timeout) {
  detail::wait_fd(fd, false, timeout, "wait_readable");
}

void wait_writable(int fd, std::optional<Duration> timeout) {
  detail::wait_fd(fd, true, timeout, "wait_writable");
}

}  // namespace braid
