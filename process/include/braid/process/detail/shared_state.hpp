// Building blocks of the process-shared primitives (Lock, Event, Queue, ...): anonymous
// shared memory inherited across fork, a robust process-shared mutex for short critical
// sections, and a condition whose waiters park on an eventfd the hub can poll.
//
// Design. Every primitive keeps its state in a MAP_SHARED|MAP_ANONYMOUS mapping made
// before the processes that use it are forked, so parent and children see the same
// bytes. The state is guarded by a SharedMutex: a PTHREAD_PROCESS_SHARED, robust pthread
// mutex held only for a few loads and stores (never across a park), so taking it never
// blocks a thread for long. A process that dies while holding it (only possible inside
// those few instructions) makes the next locker get EOWNERDEAD, which marks it
// consistent and goes on; the state is updated so that such a death loses at most the
// operation in progress.
//
// Waiting: a SharedCond counts its waiters in shared memory and wakes them by writing
// "tokens" to an eventfd in semaphore mode (EFD_SEMAPHORE), also created before the fork
// and so shared by every process. A waiter enlists (count + 1) under the mutex, drops
// the mutex and parks in the hub until the eventfd is readable (braid::wait_readable:
// only the calling coroutine parks), then takes one token with a non-blocking read.
// notify(n) moves up to n waiters from the count to tokens. Invariant: waiters counted +
// tokens in the eventfd = coroutines inside await(). A waiter that times out or is
// killed re-takes the mutex and either takes a token (passing it on if it was killed) or
// removes itself from the count, so no wake-up is lost. A token may be taken by another
// waiter than the one it was posted for; every waiter re-checks its predicate, so that is
// a spurious wake-up, never a lost one -- except for a waiter that enlisted after the
// notify that posted the token: it was not among those the notify meant, and taking the
// token could strand one that was (a Condition waiter whose predicate is now true). So
// each notify bumps a sequence number, a waiter remembers it when it enlists, and a
// waiter that finds a token although no notify happened since then puts it back, steps
// aside for a millisecond and waits again.
#pragma once

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/detail/unique_fd.hpp>
#include <braid/runtime/hub.hpp>

#include <pthread.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace braid::process::detail {

/// An anonymous shared mapping (MAP_SHARED|MAP_ANONYMOUS), zero-filled, inherited by
/// children forked after it was made. `noreserve`: pages are committed when touched.
class SharedMapping {
 public:
  explicit SharedMapping(std::size_t bytes, bool noreserve = false);
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  ~SharedMapping();
  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A robust, process-shared mutex living in shared memory. Short critical sections only.
struct SharedMutex {
  pthread_mutex_t m;
  /// Initialises it in place (once, in the creating process).
  void init();
  /// Blocks the thread (briefly) until held. Recovers from a holder that died.
  void lock() noexcept;
  void unlock() noexcept;
};

/// The shared half of a SharedCond: how many waiters are enlisted. Guarded by the mutex
/// that guards the predicate.
struct SharedCondState {
  std::uint32_t waiters = 0;
  std::uint64_t seq = 0;  // notify() calls that woke someone; guarded by the mutex too
};

/// The per-process half of a condition: the eventfd (close-on-exec, non-blocking,
/// semaphore mode) shared with the other processes, and a pointer to the shared count.
class SharedCond {
 public:
  /// Creates the eventfd. Call before forking the processes that will use it.
  explicit SharedCond(SharedCondState* state);
  SharedCond(const SharedCond&) = delete;
  SharedCond& operator=(const SharedCond&) = delete;
  ~SharedCond();

  /// With `m` held: enlists, releases `m`, parks until notified (true) or `timeout`
  /// elapsed (false), and re-takes `m` (also when it throws GreenletExit or an enclosing
  /// Timeout's TimeoutError). Spurious wake-ups happen: re-check the predicate.
  bool wait(SharedMutex& m, std::optional<Duration> timeout);
  /// With `m` held: counts the caller as a waiter (then release `m` and call await with
  /// the ticket returned).
  std::uint64_t enlist() noexcept {
    state_->waiters++;
    return state_->seq;
  }
  /// Without `m` held, after enlist(): parks until a token arrives (true) or `timeout`
  /// elapsed (false). Takes `m` briefly to leave the count on timeout or interrupt.
  bool await(SharedMutex& m, std::optional<Duration> timeout, std::uint64_t ticket);
  /// With the mutex held: wakes up to `n` waiters / all of them. Never parks.
  void notify(std::uint32_t n = 1) noexcept;
  void notify_all() noexcept { notify(state_->waiters); }
  std::uint32_t waiters() const noexcept { return state_->waiters; }
  int fd() const noexcept { return fd_.get(); }

 private:
  bool try_take() noexcept;  // one token, without parking
  void put_back() noexcept;  // returns a token taken by mistake
  bool notified_since(std::uint64_t ticket) const noexcept;
  void leave(SharedMutex& m, std::uint64_t ticket, bool& got) noexcept;
  void leave_passing_on(SharedMutex& m, std::uint64_t ticket, bool& got) noexcept;

  SharedCondState* state_;
  braid::detail::UniqueFd fd_;
};

/// RAII holder for a SharedMutex (std::lock_guard needs BasicLockable; this is one too).
class SharedLockGuard {
 public:
  explicit SharedLockGuard(SharedMutex& m) noexcept : m_(m) { m_.lock(); }
  ~SharedLockGuard() { m_.unlock(); }
  SharedLockGuard(const SharedLockGuard&) = delete;
  SharedLockGuard& operator=(const SharedLockGuard&) = delete;

 private:
  SharedMutex& m_;
};

/// A `T` constructed in its own shared mapping. T must be usable from several processes
/// at once (plain data, SharedMutex, SharedCondState, atomics).
template <class T>
class SharedBlock {
 public:
  template <class... A>
  explicit SharedBlock(std::size_t extra_bytes, A&&... args)
      : map_(sizeof(T) + extra_bytes, extra_bytes > (1u << 20)),
        value_(new (map_.data()) T(std::forward<A>(args)...)) {}
  T* get() const noexcept { return value_; }
  T* operator->() const noexcept { return value_; }
  /// The `extra_bytes` after T.
  std::byte* extra() const noexcept { return static_cast<std::byte*>(map_.data()) + sizeof(T); }

 private:
  SharedMapping map_;
  T* value_;
};

/// Identity of a process that survives pid reuse: its pid plus its start time (clock
/// ticks since boot, /proc/<pid>/stat field 22).
struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  bool operator==(const ProcessIdentity&) const = default;
};
/// The calling process's identity (cached per process).
ProcessIdentity self_identity() noexcept;
/// False when that process has exited (zombie included) or its pid now names another.
bool process_alive(const ProcessIdentity& who) noexcept;

}  // namespace braid::process::detail
