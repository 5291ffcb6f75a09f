// poll, ppoll and select on a braid coroutine: answer at once when something is ready,
// else park until any descriptor is, through a private epoll set whose own descriptor
// the hub watches (as braid::net::select does).
#include "common.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace braid::hooks::detail;

namespace {

// A level-triggered epoll set over the poll array; -1 with errno on failure. poll's event
// bits are epoll's on Linux; errors and hang-ups are always reported.
int make_set(const pollfd* fds, nfds_t n) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -1;
  std::vector<std::pair<int, std::uint32_t>> added;
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].fd < 0) continue;  // poll ignores negative descriptors
    std::uint32_t events = static_cast<std::uint16_t>(fds[i].events);
    auto same = std::find_if(added.begin(), added.end(),
                             [&](const auto& a) { return a.first == fds[i].fd; });
    epoll_event ev{};
    if (same != added.end()) {  // listed twice: watch for either's events
      same->second |= events;
      ev.events = same->second;
      ev.data.fd = fds[i].fd;
      if (::epoll_ctl(ep, EPOLL_CTL_MOD, fds[i].fd, &ev) == 0) continue;
    } else {
      ev.events = events;
      ev.data.fd = fds[i].fd;
      if (::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &ev) == 0) {
        added.emplace_back(fds[i].fd, events);
        continue;
      }
    }
    // A regular file (EPERM) is always ready: the zero-timeout poll reports it first.
    if (errno == EPERM) continue;
    const int err = errno;
    ::close(ep);
    errno = err;
    return -1;
  }
  return ep;
}

struct SetCloser {
  int fd = -1;
  ~SetCloser() {
    if (fd >= 0) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
    }
  }
};

// The parking poll: the ready count, 0 when `timeout_ns` (< 0: none) passed, or -1 and
// errno (ENOMEM when no epoll set could be made, ECANCELED/ETIMEDOUT on interrupt).
int park_poll(const braid_hooks_entry* rt, pollfd* fds, nfds_t n, long long timeout_ns) {
  if (const int err = cooperate(rt)) return fail(err);
  const long long until = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;
  SetCloser set;
  for (;;) {
    const int r = BRAID_REAL(poll)(fds, n, 0);
    if (r != 0) return r;
    long long left = -1;
    if (until >= 0) {
      left = std::max(0LL, until - now_ns());
      if (left == 0) return 0;
    }
    if (const int err = rt->pending()) return fail(err);
    if (set.fd < 0) {
      set.fd = make_set(fds, n);
      if (set.fd < 0) return fail(errno == EMFILE || errno == ENFILE ? ENOMEM : errno);
    }
    const int err = rt->wait_fd(set.fd, 0, left);
    if (err == EAGAIN) return 0;  // the timeout passed
    if (err != 0) return fail(err);
  }
}

long long ms_to_ns(int ms) { return ms < 0 ? -1 : static_cast<long long>(ms) * 1'000'000LL; }

}  // namespace

extern "C" {

int poll(pollfd* fds, nfds_t n, int timeout_ms) {
  const braid_hooks_entry* rt = timeout_ms != 0 ? parking_entry() : nullptr;
  if (rt == nullptr) return BRAID_REAL(poll)(fds, n, timeout_ms);
  return park_poll(rt, fds, n, ms_to_ns(timeout_ms));
}

int ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask) {
  // A signal mask to apply while waiting has no meaning for a parked coroutine: with
  // one, the call is libc's (it blocks the thread).
  const bool zero = timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_nsec == 0;
  const braid_hooks_entry* rt = sigmask == nullptr && !zero ? parking_entry() : nullptr;
  if (rt == nullptr) return BRAID_REAL(ppoll)(fds, n, timeout, sigmask);
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
                             timeout->tv_nsec >= 1'000'000'000L)) {
    return fail(EINVAL);
  }
  const long long ns =
      timeout == nullptr ? -1 : timeout->tv_sec * 1'000'000'000LL + timeout->tv_nsec;
  return park_poll(rt, fds, n, ns);
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* x, timeval* timeout) {
  const bool zero = timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_usec == 0;
  const braid_hooks_entry* rt = !zero ? parking_entry() : nullptr;
  if (rt == nullptr) return BRAID_REAL(select)(nfds, r, w, x, timeout);
  if (nfds < 0 || nfds > FD_SETSIZE) return fail(EINVAL);
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_usec < 0)) return fail(EINVAL);
  std::vector<pollfd> fds;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (r != nullptr && FD_ISSET(fd, r)) ev |= POLLIN;
    if (w != nullptr && FD_ISSET(fd, w)) ev |= POLLOUT;
    if (x != nullptr && FD_ISSET(fd, x)) ev |= POLLPRI;
    if (ev != 0) fds.push_back(pollfd{fd, ev, 0});
  }
  const long long ns = timeout == nullptr
                           ? -1
                           : timeout->tv_sec * 1'000'000'000LL + timeout->tv_usec * 1000LL;
  const long long start = now_ns();
  const int n = park_poll(rt, fds.data(), fds.size(), ns);
  if (n < 0) return -1;
  if (timeout != nullptr) {  // Linux reports the time left, as the kernel's select does
    const long long left = std::max(0LL, ns - (now_ns() - start));
    timeout->tv_sec = left / 1'000'000'000LL;
    timeout->tv_usec = (left % 1'000'000'000LL) / 1000;
  }
  for (const pollfd& p : fds) {
    if (p.revents & POLLNVAL) return fail(EBADF);
  }
  if (r != nullptr) FD_ZERO(r);
  if (w != nullptr) FD_ZERO(w);
  if (x != nullptr) FD_ZERO(x);
  int count = 0;
  // The kernel's select: readable on data, EOF or error; writable on room or error;
  // exceptional on urgent data.
  for (const pollfd& p : fds) {
    if (r != nullptr && (p.events & POLLIN) && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      FD_SET(p.fd, r), ++count;
    }
    if (w != nullptr && (p.events & POLLOUT) && (p.revents & (POLLOUT | POLLERR))) {
      FD_SET(p.fd, w), ++count;
    }
    if (x != nullptr && (p.events & POLLPRI) && (p.revents & POLLPRI)) FD_SET(p.fd, x), ++count;
  }
  return count;
}

}  // extern "C"
