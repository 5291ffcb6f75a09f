// A descriptor kept registered with the hub's reactor between waits, for objects that
// wait on the same descriptor over and over (process::Connection). Internal: not part
// of the public API.
//
// What may switch: read_some, wait_readable and wait_writable park the calling
// coroutine (in main they run the hub); release() never parks.
#pragma once

#include <braid/runtime/hub.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>

namespace braid::detail {

/// read(2), retrying EINTR: the count, 0 at EOF, -1 with errno set (EAGAIN: nothing now).
ssize_t read_retry(int fd, void* buf, std::size_t n) noexcept;

/// A close-on-exec duplicate of `fd` registered with `ctx` (its own reactor registration,
/// so it never clashes with another of `fd`); throws a system_error naming `what` and `fd`.
std::unique_ptr<boost::asio::posix::stream_descriptor> register_duplicate(
    boost::asio::io_context& ctx, int fd, const char* what);

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
/// `fd` stays the caller's: call release() before closing it.
class FdWatcher {
 public:
  explicit FdWatcher(int fd) noexcept : fd_(fd) {}
  FdWatcher(const FdWatcher&) = delete;
  FdWatcher& operator=(const FdWatcher&) = delete;
  ~FdWatcher();

  /// Reads up to `n` (> 0) bytes from the descriptor, which must be non-blocking,
  /// parking until at least one byte or EOF is there. Returns the count, 0 at EOF.
  /// @throws TimeoutError       `timeout` elapsed, or an enclosing braid::Timeout fired.
  /// @throws std::system_error  the read failed, or release() ran while it waited (EBADF).
  std::size_t read_some(void* buf, std::size_t n, std::optional<Duration> timeout,
                        const char* what);
  /// Parks until the descriptor is readable (or reports an error or hang-up). Errors as
  /// read_some.
  void wait_readable(std::optional<Duration> timeout, const char* what);
  /// Parks until the descriptor is writable. Errors as read_some. Waiting to write is
  /// rare (a full pipe), so it registers for this wait only: interest in writability
  /// kept on the persistent registration would wake the hub whenever the peer reads.
  void wait_writable(std::optional<Duration> timeout, const char* what);
  /// Drops the registration; a coroutine parked in a wait wakes with EBADF. The next
  /// wait registers again. Never throws, never parks.
  void release() noexcept;

  /// True while registered with the calling process's reactor (for tests).
  bool registered() const noexcept;

 private:
  friend class braid::Hub;
  using Desc = boost::asio::posix::stream_descriptor;

  // The registration to wait on from this thread: made if need be; null when this
  // thread's hub is not the registration's (the caller then uses wait_fd).
  Desc* registration(Hub& hub, const char* what);
  void wait(Desc& desc, bool writable, std::optional<Duration> timeout, const char* what);
  void forget_parents() noexcept;
  void link(Hub& hub) noexcept;
  void unlink() noexcept;

  int fd_;                      // the caller's descriptor
  bool may_have_data_ = true;   // no read has come up short since the last wake
  Hub* hub_ = nullptr;          // the registration's hub
  unsigned generation_ = 0;     // fork_generation() when registered
  std::unique_ptr<Desc> desc_;  // on a duplicate of fd_; null when not registered
  Desc* write_desc_ = nullptr;  // the one-shot registration of a wait_writable under way
  FdWatcher* prev_ = nullptr;   // on hub_'s list of watchers
  FdWatcher* next_ = nullptr;
};

}  // namespace braid::detail
