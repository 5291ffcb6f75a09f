// Waiting for any of a few descriptors at once, parking only the calling coroutine:
// what communicate() needs to feed stdin while it drains stdout and stderr.
#pragma once

#include <braid/runtime/hub.hpp>

#include <optional>

namespace braid::subprocess::detail {

/// A set of descriptors to wait on together. Linux: an epoll instance of its own
/// (level-triggered), which is itself readable while any member is ready, so the hub
/// waits on that one descriptor.
class FdPoller {
 public:
  FdPoller();  // throws std::system_error
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;
  ~FdPoller();

  /// Adds `fd`, to be waited on for writability (else readability). Throws.
  void add(int fd, bool writable);
  /// Removes `fd` (call before closing it). Never throws.
  void remove(int fd) noexcept;
  /// Parks until some member is ready, has hung up or has an error.
  /// @throws TimeoutError  `timeout` (source() == nullptr) or an enclosing Timeout.
  void wait(std::optional<Duration> timeout);

 private:
  int epfd_ = -1;  // the epoll instance, close-on-exec
};

}  // namespace braid::subprocess::detail
