#include <braid/runtime/wait.hpp>

#include <braid/runtime/detail/fd_watcher.hpp>

#include <braid/runtime/detail/format.hpp>

#include <fmt/format.h>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <system_error>

#include <fcntl.h>

namespace braid {
namespace detail {
namespace {
void restore_blocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) != 0) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}
}  // namespace

void wait_fd(int fd, bool writable, std::optional<Duration> timeout, const char* what) {
  Hub& hub = Hub::current();
  hub.check_interrupt();
  // A private duplicate gets its own epoll registration: waiting on a descriptor that an
  // Asio socket (or another waiter) already registered would otherwise fail with EEXIST.
  const auto desc = register_duplicate(hub.context(), fd, what);
  const auto type = writable ? boost::asio::posix::stream_descriptor::wait_write
                             : boost::asio::posix::stream_descriptor::wait_read;
  // Asio switches a descriptor to non-blocking mode when it starts an operation on it,
  // and the duplicate shares the open file, flags included, with `fd`: the caller's
  // blocking descriptor would come back non-blocking (a later plain read() failing with
  // EAGAIN). A readiness wait needs no such mode, so a blocking caller's is put back as
  // soon as the wait is registered (Asio remembers it set the mode and never sets it again
  // for this registration).
  const int flags_before = ::fcntl(fd, F_GETFL);
  const bool was_blocking = flags_before >= 0 && (flags_before & O_NONBLOCK) == 0;
  const boost::system::error_code ec = await_op(
      [&](auto handler) {
        desc->async_wait(type, std::move(handler));
        if (was_blocking) restore_blocking(fd);
      },
      timeout, WaitInfo{writable ? "fd writable" : "fd readable", fd});
  if (ec == boost::asio::error::timed_out) {
    throw TimeoutError(
        fmt::format("{} fd {}: timed out after {}", what, fd, format_duration(*timeout)));
  }
  if (ec) {
    // Keep Asio's category: its errors (the select reactor's "descriptor does not fit into
    // the select call's fd_set", say) are not errno values.
    throw std::system_error(std::error_code(ec), fmt::format("{} fd {}", what, fd));
  }
}

}  // namespace detail

void wait_readable(int fd, std::optional<Duration> timeout) {
  detail::wait_fd(fd, false, timeout, "wait_readable");
}

void wait_writable(int fd, std::optional<Duration> timeout) {
  detail::wait_fd(fd, true, timeout, "wait_writable");
}

}  // namespace braid
