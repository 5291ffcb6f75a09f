// Process-shared synchronisation primitives (Python's multiprocessing.Lock, RLock,
// Semaphore, BoundedSemaphore, Event, Condition, Barrier).
//
// Create them before starting the processes that use them: their state lives in shared
// memory inherited through fork (see detail/shared_state.hpp). Each object is a cheap
// copyable handle: copies (say, a Process argument) refer to the same primitive.
//
// What may switch: acquire/lock, wait and Barrier::wait park only the calling coroutine
// (on an eventfd the hub polls); in main they run the hub. release, set, clear, notify
// and try_lock never park.
//
// A Lock held by a process that dies: the lock records its owner (pid and start time).
// Whoever waits for it checks the owner at least every 100 ms; when the owner has
// exited, the waiter takes the lock over (a warning is logged and recovered_count()
// grows), as a robust mutex would, instead of waiting forever. Data the dead owner was
// changing may be half-updated: the lock cannot know. The same holds for RLock, the lock
// of a Condition, and the locks of Value and Array. Semaphores have no owner: a count
// taken by a process that dies stays taken.
#pragma once

#include <braid/process/detail/shared_state.hpp>
#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/hub.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

namespace braid::process {

/// A Barrier was broken (abort(), reset() while waiting, or a wait timed out).
struct BrokenBarrierError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
struct LockState;
class LockCore;
}  // namespace detail

/// A process-shared mutual-exclusion lock, usable with std::lock_guard. Not owned by a
/// coroutine: any process may release it (as Python's). Acquiring it twice from the same
/// holder without a release waits forever (or until its timeout); use RLock for that.
class Lock {
 public:
  Lock();
  /// Parks until the lock is held (true) or `timeout` elapsed (false).
  /// @throws the parking-call errors (errors.hpp).
  bool acquire(std::optional<Duration> timeout = {});
  /// std::logic_error when not locked.
  void release();
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock();
  bool locked() const;
  /// How many times a holder that had died was displaced by an acquirer.
  std::uint64_t recovered_count() const;

 private:
  friend class Condition;
  std::shared_ptr<detail::LockCore> core_;
};

/// A re-entrant process-shared lock: the holding coroutine (in its process) may acquire
/// it again; it is free after as many releases.
class RLock {
 public:
  RLock();
  bool acquire(std::optional<Duration> timeout = {});
  /// std::logic_error unless held by the calling coroutine.
  void release();
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock();
  bool locked() const;

 private:
  std::shared_ptr<detail::LockCore> core_;
};

namespace detail {
struct SemaphoreImpl;
}

/// A process-shared counting semaphore, usable with std::lock_guard.
class Semaphore {
 public:
  explicit Semaphore(std::size_t n);
  /// Parks until the count is positive, then decrements it (true); false on timeout.
  bool acquire(std::optional<Duration> timeout = {});
  /// Increments the count and wakes one waiter.
  void release();
  std::size_t value() const;
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock();

 protected:
  Semaphore(std::size_t n, bool bounded);

 private:
  std::shared_ptr<detail::SemaphoreImpl> impl_;
};

/// A Semaphore whose release() beyond the initial count is std::logic_error.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t n) : Semaphore(n, true) {}
};

namespace detail {
struct EventImpl;
}

/// A process-shared flag: set() wakes every waiter in every process.
class Event {
 public:
  Event();
  void set();
  void clear();
  bool is_set() const;
  /// Parks until set (true) or `timeout` elapsed (false). True at once when set.
  bool wait(std::optional<Duration> timeout = {});

 private:
  std::shared_ptr<detail::EventImpl> impl_;
};

namespace detail {
struct ConditionImpl;
}

/// A process-shared condition variable bound to a Lock (its own when none is given).
/// wait() and notify() require the lock to be held (std::logic_error otherwise).
class Condition {
 public:
  explicit Condition(Lock* lock = nullptr);
  void lock() { lock_.acquire(); }
  void unlock() { lock_.release(); }
  bool try_lock() { return lock_.try_lock(); }
  bool acquire(std::optional<Duration> timeout = {}) { return lock_.acquire(timeout); }
  void release() { lock_.release(); }
  /// Releases the lock, parks until notified (true) or `timeout` elapsed (false), and
  /// re-acquires the lock before returning (also when it throws).
  bool wait(std::optional<Duration> timeout = {});
  /// wait() until `pred()` holds; returns its last value (false on timeout).
  template <class Pred>
  bool wait_for(Pred pred, std::optional<Duration> timeout = {}) {
    const braid::detail::CallDeadline until(timeout);
    bool ok = pred();
    while (!ok) {
      if (until.passed()) break;
      wait(until.remaining());
      ok = pred();
    }
    return ok;
  }
  /// Wakes up to `n` waiting processes/coroutines.
  void notify(std::size_t n = 1);
  void notify_all();
  Lock& get_lock() noexcept { return lock_; }

 private:
  void check_owned(const char* what) const;

  Lock lock_;
  std::shared_ptr<detail::ConditionImpl> impl_;
};

namespace detail {
struct BarrierImpl;
}

/// A process-shared barrier for `parties` participants (Python's Barrier(parties,
/// action, timeout)).
class Barrier {
 public:
  /// std::invalid_argument when `parties` is 0.
  explicit Barrier(std::size_t parties);
  /// `action`, when given, is run by the last caller to arrive, before any waiter is
  /// released (each process runs its own copy, inherited at fork; it may park). When it
  /// throws, the barrier breaks: the others get BrokenBarrierError, the caller the
  /// action's exception. `timeout` is the default for wait() calls that give none.
  Barrier(std::size_t parties, std::function<void()> action, std::optional<Duration> timeout = {});
  /// Parks until `parties` callers are waiting; returns this caller's arrival index
  /// (0 .. parties-1). Without `timeout`, the barrier's default (none: no limit). A
  /// timeout breaks the barrier. BrokenBarrierError when the barrier is or becomes
  /// broken (abort, reset while waiting, another waiter's timeout, a throwing action).
  std::size_t wait(std::optional<Duration> timeout = {});
  /// Back to the initial state; current waiters get BrokenBarrierError.
  void reset();
  /// Breaks it: current and future waiters get BrokenBarrierError until reset().
  void abort();
  std::size_t parties() const;
  std::size_t n_waiting() const;
  bool broken() const;

 private:
  std::shared_ptr<detail::BarrierImpl> impl_;
};

}  // namespace braid::process
