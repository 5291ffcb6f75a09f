#include "subprocess/subprocess_poller.hpp"

#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace braid::subprocess::detail {

FdPoller::FdPoller() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

FdPoller::~FdPoller() {
  if (epfd_ >= 0) ::close(epfd_);
}

void FdPoller::add(int fd, bool writable) {
  epoll_event ev{};
  ev.events = writable ? EPOLLOUT : EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), fmt::format("epoll_ctl add fd {}", fd));
  }
}

void FdPoller::remove(int fd) noexcept { ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void FdPoller::wait(std::optional<Duration> timeout) {
  // The members are level-triggered, so the epoll descriptor stays readable until the
  // caller has drained what is ready; the caller then retries its non-blocking I/O.
  braid::wait_readable(epfd_, timeout);
}

}  // namespace braid::subprocess::detail
