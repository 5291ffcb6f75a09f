#include <braid/net/select.hpp>

#include <braid/net/selector.hpp>
#include <braid/runtime/detail/sys.hpp>

#include "socket_ops.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <algorithm>
#include <cerrno>
#include <map>

namespace braid::net {

namespace {

struct Interest {
  short events = 0;  // POLLIN / POLLOUT / POLLPRI wanted
};

// poll(2) with a zero timeout gives select(2)'s answer for this instant.
bool poll_now(std::vector<pollfd>& fds) {
  const int n = braid::detail::sys::poll(fds.data(), fds.size(), 0);
  if (n < 0) detail::throw_error(detail::last_error(), "select: poll");
  for (const pollfd& p : fds) {
    if (p.revents & POLLNVAL) {
      detail::throw_error(detail::make_error(EBADF), fmt::format("select: fd {}", p.fd));
    }
  }
  return n > 0;
}

SelectResult collect(const std::vector<pollfd>& fds, std::span<const int> r, std::span<const int> w,
                     std::span<const int> x) {
  auto revents = [&](int fd) {
    auto it = std::lower_bound(fds.begin(), fds.end(), fd,
                               [](const pollfd& p, int v) { return p.fd < v; });
    return it->revents;
  };
  SelectResult out;
  for (int fd : r) {
    if (revents(fd) & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)) out.readable.push_back(fd);
  }
  for (int fd : w) {
    if (revents(fd) & (POLLOUT | POLLERR)) out.writable.push_back(fd);
  }
  for (int fd : x) {
    // select(2) reports only urgent data here; an error or hang-up on a descriptor that
    // is in no other set is reported here too, or the caller could never learn of it.
    const short ev = revents(fd);
    const bool elsewhere = std::find(r.begin(), r.end(), fd) != r.end() ||
                           std::find(w.begin(), w.end(), fd) != w.end();
    if ((ev & POLLPRI) || (!elsewhere && (ev & (POLLERR | POLLHUP)))) out.exceptional.push_back(fd);
  }
  return out;
}

// The readiness set only wakes us; poll_now decides.
unsigned interest(short poll_events) {
  using braid::detail::ReadinessSet;
  unsigned e = 0;
  if (poll_events & POLLIN) e |= ReadinessSet::readable | ReadinessSet::peer_closed;
  if (poll_events & POLLOUT) e |= ReadinessSet::writable;
  if (poll_events & POLLPRI) e |= ReadinessSet::priority;
  return e;
}

}  // namespace

SelectResult select(std::span<const int> r, std::span<const int> w, std::span<const int> x,
                    std::optional<Duration> timeout) {
  std::map<int, Interest> wanted;
  for (int fd : r) detail::check_fd(fd, "select"), wanted[fd].events |= POLLIN | POLLRDHUP;
  for (int fd : w) detail::check_fd(fd, "select"), wanted[fd].events |= POLLOUT;
  for (int fd : x) detail::check_fd(fd, "select"), wanted[fd].events |= POLLPRI;
  std::vector<pollfd> fds;
  fds.reserve(wanted.size());
  for (auto [fd, in] : wanted) fds.push_back(pollfd{fd, in.events, 0});

  const detail::CallDeadline deadline(timeout);
  std::optional<braid::detail::ReadinessSet> set;  // built only if the call has to wait
  // Ready descriptors return at once: a select() loop over busy sockets yields to the hub
  // now and then (Hub::cooperate), like every other fast path.
  Hub::current().cooperate();
  for (;;) {
    if (poll_now(fds)) {
      SelectResult res = collect(fds, r, w, x);
      if (!res.readable.empty() || !res.writable.empty() || !res.exceptional.empty()) return res;
    }
    // With no descriptors at all this parks on an empty set: a sleep for `timeout`, and
    // LoopExit ("would block forever") without one, unless other coroutines run.
    const auto left = deadline.remaining();
    if (left && *left <= Duration::zero()) return {};
    if (!set) {
      set.emplace();
      for (const pollfd& p : fds) set->add(p.fd, interest(p.events), "select");
    }
    set->wait(left, 1, "select");
  }
}

}  // namespace braid::net
