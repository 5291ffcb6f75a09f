// Semaphore, BoundedSemaphore, Lock and RLock for coroutines of one hub (gevent.lock).
// Waiters are served first come, first served: a release hands the permit straight to
// the longest waiter, so a late arrival cannot overtake it.
#pragma once

#include <braid/runtime/detail/wait_queue.hpp>

#include <cstddef>
#include <optional>

namespace braid {

class Semaphore {
 public:
  /// gevent's Semaphore(value=1): one permit.
  Semaphore() : Semaphore(1) {}
  explicit Semaphore(std::size_t n) : value_(n) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  virtual ~Semaphore() = default;

  /// Takes a permit, parking while none is free. False when `timeout` elapsed first.
  /// @throws the parking-call errors (errors.hpp).
  bool acquire(std::optional<Duration> timeout = {});
  /// Returns a permit (to the first waiter, if any).
  void release();
  /// Permits free now.
  std::size_t value() const noexcept { return value_; }
  /// Coroutines parked in acquire().
  std::size_t waiting() const noexcept { return waiters_.size(); }

  void lock() { acquire(); }
  void unlock() { release(); }
  /// Takes a permit if one is free now; never parks.
  bool try_lock() noexcept;

 protected:
  virtual void check_release() const {}
  const char* what_ = "Semaphore.acquire";

 private:
  std::size_t value_;
  detail::WaitQueue waiters_;
};

/// A Semaphore that refuses (std::logic_error) a release above its starting value.
class BoundedSemaphore : public Semaphore {
 public:
  /// gevent's BoundedSemaphore(value=1): one permit, and a bound of one.
  BoundedSemaphore() : BoundedSemaphore(1) {}
  explicit BoundedSemaphore(std::size_t n) : Semaphore(n), bound_(n) {}

 protected:
  void check_release() const override;

 private:
  std::size_t bound_;
};

/// A mutual-exclusion lock for coroutines. Not re-entrant: a second acquire by the
/// holder parks (see RLock). Releasing an unlocked Lock is a std::logic_error.
class Lock {
 public:
  Lock() : sem_(1) {}
  bool acquire(std::optional<Duration> timeout = {}) { return sem_.acquire(timeout); }
  void release();
  void lock() { sem_.acquire(); }
  void unlock() { release(); }
  bool try_lock() noexcept { return sem_.try_lock(); }
  bool locked() const noexcept { return sem_.value() == 0; }

 private:
  Semaphore sem_;
};

/// A lock the holding coroutine may take again; it is free once released as many times
/// as acquired. Release by a coroutine that does not hold it is a std::logic_error.
class RLock {
 public:
  RLock() : sem_(1) {}
  bool acquire(std::optional<Duration> timeout = {});
  void release();
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() noexcept;
  bool locked() const noexcept { return owner_ != nullptr; }

 private:
  Semaphore sem_;
  const detail::FiberRecord* owner_ = nullptr;
  std::size_t depth_ = 0;
};

}  // namespace braid
