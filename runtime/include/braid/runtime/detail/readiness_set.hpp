// A readiness set: descriptors watched together by one coroutine, which parks on the set
// alone (net::select and selectors; Popen::communicate feeding stdin while it drains
// stdout and stderr). Internal: not part of the public API.
//
// Linux: a private, level-triggered epoll instance of its own, independent of the hub's
// reactor (Asio's epoll, select or io_uring, whatever the preset). The hub watches only
// the set's descriptor, through an owned FdWatcher, which is readable while any member
// is ready. What may switch: wait() parks the calling coroutine (in main it runs the
// hub); the rest never parks.
#pragma once

#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/hub.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace braid::detail {

class ReadinessSet {
 public:
  /// Interest (add, modify) and readiness (wait) bits.
  static constexpr unsigned readable = 1;     // readable, at EOF, or an error or hang-up
  static constexpr unsigned writable = 2;     // writable, or an error or hang-up
  static constexpr unsigned priority = 4;     // interest only: urgent data (POLLPRI)
  static constexpr unsigned peer_closed = 8;  // interest only: the peer shut down writing

  /// A ready member and what it is ready for (readable | writable). As Python's
  /// EpollSelector, an error or hang-up reports both: mask with what was asked.
  struct Ready {
    int fd;
    unsigned events;
  };

  ReadinessSet();  // @throws std::system_error when epoll_create1 fails (EMFILE)
  ReadinessSet(ReadinessSet&&) noexcept = default;
  ReadinessSet& operator=(ReadinessSet&&) noexcept = default;
  ~ReadinessSet();

  /// Watches `fd` for `interest` (a mix of the bits above). `what` names the call in
  /// errors. @throws std::system_error EBADF (not open), EEXIST (already a member),
  /// EPERM (a regular file: no readiness), ...
  void add(int fd, unsigned interest, const char* what);
  /// Changes the interest of member `fd`. Errors as add (ENOENT: not a member).
  void modify(int fd, unsigned interest, const char* what);
  /// Stops watching `fd`; one already closed (which left the set by closing) is fine.
  /// Never throws.
  void remove(int fd) noexcept;

  /// The members ready now, at most `capacity` of them (at least one); if none and
  /// `timeout` is not zero, parks until some are or `timeout` passes (then the result is
  /// empty). Every call goes through Hub::cooperate() first: a loop over members that
  /// are always ready never parks, and must still let the hub run.
  /// @throws TimeoutError       an enclosing braid::Timeout fired.
  /// @throws std::system_error  the set is closed (EBADF), or epoll_wait failed.
  std::vector<Ready> wait(std::optional<Duration> timeout, std::size_t capacity, const char* what);

  /// Closes the set; a coroutine parked in wait() wakes with EBADF. Never throws.
  void close() noexcept;
  bool is_open() const noexcept { return watcher_ != nullptr && watcher_->fd() >= 0; }
  /// The set's own descriptor (-1 once closed).
  int fd() const noexcept { return watcher_ != nullptr ? watcher_->fd() : -1; }

 private:
  // Owns the epoll descriptor and its registration with the hub (made at the first
  // park). Behind a pointer: a watcher is linked into its hub's list and cannot move;
  // close() closes it but keeps the object, which a parked wait() still uses to wake.
  std::unique_ptr<FdWatcher> watcher_;
};

}  // namespace braid::detail
