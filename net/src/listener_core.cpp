#include <braid/net/detail/listener_core.hpp>

#include "socket_ops.hpp"

#include <braid/coro/sleep.hpp>
#include <braid/runtime/log.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace braid::net::detail {

namespace {

using namespace std::chrono_literals;
constexpr Duration kFirstBackoff = 10ms;  // after the first EMFILE
constexpr Duration kMaxBackoff = 1s;      // back-off doubles up to this

// accept(2) on Linux passes on network errors of the new connection; like EAGAIN they
// say nothing about the listener, so the loop just tries again.
bool transient_accept_error(int err) noexcept {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM:
      return true;
    default:
      return false;
  }
}

// Out of descriptors or kernel memory: the connection stays in the backlog until
// something is freed, so wait and retry rather than fail the server.
bool resource_accept_error(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

}  // namespace

ListenerCore::ListenerCore(int fd, std::string name)
    : handle_(fd, "listen"), name_(std::move(name)) {}

int ListenerCore::accept(SockAddr& peer) {
  const CallDeadline deadline(timeout_);
  Duration backoff = kFirstBackoff;
  // A flood of connections keeps accept succeeding without a wait: yield now and then.
  Hub::current().cooperate();
  for (;;) {
    if (!handle_.is_open()) {
      throw_error(boost::asio::error::bad_descriptor, fmt::format("accept on {}", name_));
    }
    error_code ec;
    const int fd = accept_nonblocking(handle_.fd(), peer, ec);
    if (fd >= 0) return fd;
    if (!ec) {
      ec = handle_.wait(false, deadline.remaining(),
                        braid::detail::WaitInfo{"accept", handle_.fd()});
      if (ec == boost::asio::error::timed_out)
        throw_timeout(fmt::format("accept on {}", name_), timeout_);
      if (ec) throw_error(ec, fmt::format("accept on {}", name_));
      continue;
    }
    if (transient_accept_error(ec.value())) continue;
    if (!resource_accept_error(ec.value())) throw_error(ec, fmt::format("accept on {}", name_));
    braid::detail::log().warn(
        "accept on {}: {}; retrying in {} ms", name_, ec.message(),
        std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count());
    Duration pause = backoff;
    if (auto left = deadline.remaining()) {
      if (*left <= Duration::zero()) throw_timeout(fmt::format("accept on {}", name_), timeout_);
      pause = std::min(pause, *left);
    }
    braid::sleep(pause);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

int ListenerCore::try_accept(SockAddr& peer) {
  for (;;) {
    if (!handle_.is_open()) {
      throw_error(boost::asio::error::bad_descriptor, fmt::format("accept on {}", name_));
    }
    error_code ec;
    const int fd = accept_nonblocking(handle_.fd(), peer, ec);
    if (fd >= 0 || !ec) return fd;
    if (transient_accept_error(ec.value())) continue;
    if (resource_accept_error(ec.value())) {
      braid::detail::log().warn("accept on {}: {}", name_, ec.message());
      return -1;
    }
    throw_error(ec, fmt::format("accept on {}", name_));
  }
}

}  // namespace braid::net::detail
