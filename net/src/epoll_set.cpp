#include <braid/net/detail/epoll_set.hpp>
#include <braid/net/selector.hpp>

#include "socket_ops.hpp"

#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <sys/epoll.h>
#include <cerrno>
#include <stdexcept>

namespace braid::net::detail {

namespace {

std::uint32_t to_epoll(unsigned events) noexcept {
  std::uint32_t e = 0;
  if (events & EVENT_READ) e |= EPOLLIN;
  if (events & EVENT_WRITE) e |= EPOLLOUT;
  return e;
}

// As Python's EpollSelector: an error or hang-up makes a descriptor both readable and
// writable; the caller masks the result with what was registered.
unsigned from_epoll(std::uint32_t e) noexcept {
  unsigned events = 0;
  if (e & ~static_cast<std::uint32_t>(EPOLLOUT)) events |= EVENT_READ;
  if (e & ~static_cast<std::uint32_t>(EPOLLIN)) events |= EVENT_WRITE;
  return events;
}

int create_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw_error(last_error(), "epoll_create1");
  return fd;
}

void control(int epfd, int op, int fd, std::uint32_t epoll_events, const char* what) {
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd, op, fd, &ev) == 0) return;
  const error_code ec = last_error();
  if (ec.value() == EPERM) {
    throw_error(ec,
                fmt::format("{}: fd {} does not support readiness (a regular file?)", what, fd));
  }
  throw_error(ec, fmt::format("{}: fd {}", what, fd));
}

}  // namespace

void check_events(unsigned events) {
  if (events == 0 || (events & ~(EVENT_READ | EVENT_WRITE)) != 0) {
    throw std::invalid_argument(
        fmt::format("selector: invalid events {:#x} (want EVENT_READ and/or EVENT_WRITE)", events));
  }
}

void check_fd(int fd, const char* what) {
  if (fd < 0) throw std::invalid_argument(fmt::format("{}: invalid descriptor {}", what, fd));
}

EpollSet::EpollSet() : handle_(create_epoll(), "epoll_create1") {}

void EpollSet::add(int fd, unsigned events, const char* what) {
  control(handle_.fd(), EPOLL_CTL_ADD, fd, to_epoll(events), what);
}

void EpollSet::add_raw(int fd, std::uint32_t epoll_events, const char* what) {
  control(handle_.fd(), EPOLL_CTL_ADD, fd, epoll_events, what);
}

void EpollSet::modify(int fd, unsigned events, const char* what) {
  control(handle_.fd(), EPOLL_CTL_MOD, fd, to_epoll(events), what);
}

void EpollSet::remove(int fd) noexcept {
  epoll_event ev{};
  // EBADF/ENOENT: the descriptor was closed first, which removed it already.
  (void)::epoll_ctl(handle_.fd(), EPOLL_CTL_DEL, fd, &ev);
}

std::vector<std::pair<int, unsigned>> EpollSet::wait(std::optional<Duration> timeout,
                                                     std::size_t capacity) {
  if (!handle_.is_open())
    throw_error(boost::asio::error::bad_descriptor, "select: selector is closed");
  std::vector<epoll_event> events(capacity == 0 ? 1 : std::min<std::size_t>(capacity, 1024));
  const CallDeadline deadline(timeout);
  // A selector loop whose descriptors are always ready never parks below: yield to the
  // hub now and then (Hub::cooperate) so timers and other coroutines still run.
  Hub::current().cooperate();
  for (;;) {
    int n;
    do {
      n = ::epoll_wait(handle_.fd(), events.data(), static_cast<int>(events.size()), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_error(last_error(), "select: epoll_wait");
    if (n > 0) {
      std::vector<std::pair<int, unsigned>> out;
      out.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;  // epoll_event is packed: copy out first
        out.emplace_back(fd, from_epoll(events[i].events));
      }
      return out;
    }
    const auto left = deadline.remaining();
    if (left && *left <= Duration::zero()) return {};
    // Nothing ready: park until the set's own descriptor turns readable (the hub watches
    // it edge-triggered; it was just seen empty, so the next event is an edge).
    const error_code ec =
        handle_.wait(false, left, braid::detail::WaitInfo{"select", handle_.fd()});
    if (ec == boost::asio::error::timed_out) return {};
    if (ec) throw_error(ec, "select");
  }
}

}  // namespace braid::net::detail
