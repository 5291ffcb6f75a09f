#include <braid/runtime/detail/readiness_set.hpp>

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/detail/sys.hpp>

#include <fmt/format.h>

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace braid::detail {

namespace {

std::uint32_t to_epoll(unsigned interest) noexcept {
  std::uint32_t e = 0;
  if (interest & ReadinessSet::readable) e |= EPOLLIN;
  if (interest & ReadinessSet::writable) e |= EPOLLOUT;
  if (interest & ReadinessSet::priority) e |= EPOLLPRI;
  if (interest & ReadinessSet::peer_closed) e |= EPOLLRDHUP;
  return e;
}

// As Python's EpollSelector: anything but EPOLLOUT makes a member readable, anything but
// EPOLLIN writable, so an error or hang-up wakes a waiter for either.
unsigned from_epoll(std::uint32_t e) noexcept {
  unsigned events = 0;
  if (e & ~static_cast<std::uint32_t>(EPOLLOUT)) events |= ReadinessSet::readable;
  if (e & ~static_cast<std::uint32_t>(EPOLLIN)) events |= ReadinessSet::writable;
  return events;
}

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), what);
}

UniqueFd create_epoll() {
  UniqueFd fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!fd) throw_errno(errno, "epoll_create1");
  return fd;
}

void control(int epfd, int op, int fd, unsigned interest, const char* what) {
  if (epfd < 0) throw_errno(EBADF, fmt::format("{}: fd {}: the readiness set is closed", what, fd));
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.fd = fd;
  if (::epoll_ctl(epfd, op, fd, &ev) == 0) return;
  const int err = errno;
  if (err == EPERM) {
    throw_errno(err,
                fmt::format("{}: fd {} does not support readiness (a regular file?)", what, fd));
  }
  throw_errno(err, fmt::format("{}: fd {}", what, fd));
}

}  // namespace

ReadinessSet::ReadinessSet() : watcher_(std::make_unique<FdWatcher>(create_epoll())) {}

ReadinessSet::~ReadinessSet() = default;

void ReadinessSet::add(int fd, unsigned interest, const char* what) {
  control(this->fd(), EPOLL_CTL_ADD, fd, interest, what);
}

void ReadinessSet::modify(int fd, unsigned interest, const char* what) {
  control(this->fd(), EPOLL_CTL_MOD, fd, interest, what);
}

void ReadinessSet::remove(int fd) noexcept {
  if (!is_open()) return;
  epoll_event ev{};
  // EBADF/ENOENT: the descriptor was closed first, which removed it already.
  (void)::epoll_ctl(this->fd(), EPOLL_CTL_DEL, fd, &ev);
}

std::vector<ReadinessSet::Ready> ReadinessSet::wait(std::optional<Duration> timeout,
                                                    std::size_t capacity, const char* what) {
  const CallDeadline deadline(timeout);
  // A loop whose members are always ready never parks below: yield to the hub now and
  // then so timers and other coroutines still run.
  Hub::current().cooperate();
  if (!is_open()) throw_errno(EBADF, fmt::format("{}: the readiness set is closed", what));
  std::vector<epoll_event> events(std::clamp<std::size_t>(capacity, 1, 1024));
  for (;;) {
    const int n = sys::epoll_wait(fd(), events.data(), static_cast<int>(events.size()), 0);
    if (n < 0) throw_errno(errno, fmt::format("{}: epoll_wait", what));
    if (n > 0) {
      std::vector<Ready> out;
      out.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;  // epoll_event is packed: copy out first
        out.push_back(Ready{fd, from_epoll(events[i].events)});
      }
      return out;
    }
    const auto left = deadline.remaining();
    if (left && *left <= Duration::zero()) return {};
    // Nothing ready: park until the set's own descriptor turns readable. The hub may
    // watch it edge-triggered; it was just seen empty, so the next event is an edge.
    // Closed while parked: the watcher throws EBADF.
    if (!watcher_->wait_readable_within(left, what)) return {};
  }
}

void ReadinessSet::close() noexcept {
  if (watcher_ != nullptr) watcher_->close();
}

}  // namespace braid::detail
