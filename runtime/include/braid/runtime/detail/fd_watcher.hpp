// Waiting on a descriptor: the one readiness wait of every module (await_ready) and the
// one registered-descriptor type (FdWatcher), owned or borrowed. braid::wait_readable
// and wait_writable are a watcher made for one wait; process::Connection keeps one
// between waits; ReadinessSet parks on one. Internal: not part of the public API.
//
// What may switch: await_ready, read_some and the waits park the calling coroutine (in
// main they run the hub); release() never parks.
#pragma once

#include <braid/runtime/detail/unique_fd.hpp>
#include <braid/runtime/hub.hpp>
#include <braid/runtime/wait.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>

namespace braid::detail {

/// A close-on-exec duplicate of `fd` registered with `ctx` (its own reactor registration,
/// so it never clashes with another of `fd`); throws a system_error naming `what` and `fd`.
std::unique_ptr<boost::asio::posix::stream_descriptor> register_duplicate(
    boost::asio::io_context& ctx, int fd, const char* what);

/// Clears O_NONBLOCK on `fd`. Never throws.
void restore_blocking(int fd) noexcept;

/// Parks the calling coroutine until `desc` (an Asio descriptor registered with this
/// thread's hub) is readable, or writable: every readiness wait in braid comes here.
/// Returns the wait's error: boost::asio::error::timed_out when `timeout` passed,
/// operation_aborted when the descriptor was closed or deregistered meanwhile. A kill or
/// an enclosing braid::Timeout throws. `make_blocking` (>= 0): a descriptor to put back
/// in blocking mode once the wait is registered (Asio makes the descriptor it waits on
/// non-blocking, and a duplicate shares the caller's open file, flags included).
template <class Desc>
boost::system::error_code await_ready(Desc& desc, bool writable, std::optional<Duration> timeout,
                                      WaitInfo info, int make_blocking = -1) {
  const auto type = writable ? Desc::wait_write : Desc::wait_read;
  return await_op(
      [&desc, type, make_blocking](auto handler) {
        desc.async_wait(type, std::move(handler));
        if (make_blocking >= 0) restore_blocking(make_blocking);
      },
      timeout, info);
}

/// Waits on one descriptor through a registration made once, where braid::wait_readable
/// registers a duplicate for each wait and drops it after (dup, two epoll_ctl and a
/// close per wait). Reads go through the reactor too, so a read that finds nothing is
/// never attempted twice: a round trip costs one epoll_wait and one read.
///
/// The registration is made on the first wait, with the calling thread's hub, on a
/// close-on-exec duplicate of `fd` (so the descriptor may be registered elsewhere too,
/// as with wait_fd). It lasts until release(), the watcher's destruction or the hub's.
/// A forked child never touches the parent's registration (its epoll instance is the
/// parent's too): it drops it without a system call on the reactor and registers anew
/// with its own hub at its next wait. From a thread other than the registration's, waits
/// fall back to wait_fd; release() must run on the registration's thread.
///
/// Borrowed or owned: FdWatcher(int) leaves `fd` the caller's (call release() before
/// closing it); FdWatcher(UniqueFd) owns it and closes it after dropping the registration.
class FdWatcher {
 public:
  /// Watches `fd`, which stays the caller's.
  explicit FdWatcher(int fd) noexcept : fd_(fd) {}
  /// Watches `fd` and owns it: the destructor drops the registration, then closes it.
  explicit FdWatcher(UniqueFd fd) noexcept : owned_(std::move(fd)), fd_(owned_.get()) {}
  FdWatcher(const FdWatcher&) = delete;
  FdWatcher& operator=(const FdWatcher&) = delete;
  ~FdWatcher();

  int fd() const noexcept { return fd_; }
  bool owns() const noexcept { return static_cast<bool>(owned_); }
  /// braid::wait_readable and wait_writable: one wait on the caller's `fd` through a
  /// watcher made for it, which leaves a blocking descriptor blocking (see await_ready's
  /// make_blocking) and, for a write wait, registers only that wait. Errors as read_some.
  static void wait_once(int fd, bool writable, std::optional<Duration> timeout, const char* what);

  /// Reads up to `n` (> 0) bytes from the descriptor, which must be non-blocking,
  /// parking until at least one byte or EOF is there. Returns the count, 0 at EOF.
  /// @throws TimeoutError       `timeout` elapsed, or an enclosing braid::Timeout fired.
  /// @throws std::system_error  the read failed, or release() ran while it waited (EBADF).
  std::size_t read_some(void* buf, std::size_t n, std::optional<Duration> timeout,
                        const char* what);
  /// Parks until the descriptor is readable (or reports an error or hang-up). Errors as
  /// read_some.
  void wait_readable(std::optional<Duration> timeout, const char* what);
  /// As wait_readable, but returns false when `timeout` passed instead of throwing (an
  /// enclosing braid::Timeout still throws): for waits whose timeout is a normal result.
  bool wait_readable_within(std::optional<Duration> timeout, const char* what);
  /// Parks until the descriptor is writable. Errors as read_some. Waiting to write is
  /// rare (a full pipe), so it registers for this wait only: interest in writability
  /// kept on the persistent registration would wake the hub whenever the peer reads.
  void wait_writable(std::optional<Duration> timeout, const char* what);
  /// Drops the registration; a coroutine parked in a wait wakes with EBADF. The next
  /// wait registers again. Never throws, never parks.
  void release() noexcept;
  /// release(), then closes the descriptor if owned; the watcher then watches nothing
  /// (fd() is -1). Never throws, never parks.
  void close() noexcept;

  /// True while registered with the calling process's reactor (for tests).
  bool registered() const noexcept;

 private:
  friend class braid::Hub;
  using Desc = boost::asio::posix::stream_descriptor;

  // The registration to wait on from this thread: made if need be; null when this
  // thread's hub is not the registration's (the caller then waits through await()).
  Desc* registration(Hub& hub, const char* what);
  // Parks until ready: the wait's error (timed_out when `timeout` passed).
  boost::system::error_code await(bool writable, std::optional<Duration> timeout, const char* what);
  boost::system::error_code await_on(Desc& desc, bool writable, std::optional<Duration> timeout);
  void forget_parents() noexcept;
  void link(Hub& hub) noexcept;
  void unlink() noexcept;

  UniqueFd owned_;              // fd_ when owned; empty when borrowed
  int fd_;                      // the descriptor watched
  bool one_wait_ = false;       // made by wait_once
  bool may_have_data_ = true;   // no read has come up short since the last wake
  Hub* hub_ = nullptr;          // the registration's hub
  unsigned generation_ = 0;     // fork_generation() when registered
  std::unique_ptr<Desc> desc_;  // on a duplicate of fd_; null when not registered
  Desc* write_desc_ = nullptr;  // the one-shot registration of a wait_writable under way
  FdWatcher* prev_ = nullptr;   // on hub_'s list of watchers
  FdWatcher* next_ = nullptr;
};

}  // namespace braid::detail
