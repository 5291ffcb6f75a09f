// Internal: a private, level-triggered epoll set whose own descriptor is watched by the
// hub, so waiting on it parks only the calling coroutine. Backs BasicSelector.
#pragma once

#include <braid/net/detail/socket_handle.hpp>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace braid::net::detail {

class EpollSet {
 public:
  EpollSet();  // @throws std::system_error when epoll_create1 fails (EMFILE)
  EpollSet(EpollSet&&) noexcept = default;
  EpollSet& operator=(EpollSet&&) noexcept = default;

  /// Watches `fd` for `events` (EVENT_READ | EVENT_WRITE). `what` names the call in
  /// errors. @throws std::system_error EBADF, EEXIST, EPERM (a regular file), ...
  void add(int fd, unsigned events, const char* what);
  void modify(int fd, unsigned events, const char* what);
  /// As add, with raw EPOLL* flags (select() watches EPOLLPRI too).
  void add_raw(int fd, std::uint32_t epoll_events, const char* what);
  /// Stops watching `fd`; a descriptor already closed is fine. Never throws.
  void remove(int fd) noexcept;
  /// The (fd, EVENT_* mask) pairs ready now; if none and `timeout` is not zero, parks
  /// until some are or `timeout` passes (then the result is empty). `capacity` bounds
  /// how many are returned at once.
  std::vector<std::pair<int, unsigned>> wait(std::optional<Duration> timeout, std::size_t capacity);
  void close() noexcept { handle_.close(); }
  int fd() const noexcept { return handle_.fd(); }

 private:
  SocketHandle handle_;  // the epoll descriptor, registered with the hub's reactor
};

/// Checks a selector events mask: std::invalid_argument unless it is a non-empty
/// combination of EVENT_READ and EVENT_WRITE.
void check_events(unsigned events);
/// std::invalid_argument for a negative descriptor.
void check_fd(int fd, const char* what);

}  // namespace braid::net::detail
