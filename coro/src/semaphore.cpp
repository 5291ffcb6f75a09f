#include <braid/coro/semaphore.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace braid {

bool Semaphore::acquire(std::optional<Duration> timeout) {
  if (value_ > 0 && waiters_.empty()) {
    detail::Scheduling::check_interrupt(
        Hub::current());  // a pending kill or timeout still takes effect
    --value_;
    return true;
  }
  // A release hands its permit to us directly (value_ is not incremented for it).
  return waiters_.wait(timeout, detail::WaitInfo{what_});
}

void Semaphore::release() {
  check_release();
  if (!waiters_.notify_one()) ++value_;
}

bool Semaphore::try_lock() noexcept {
  if (value_ == 0 || !waiters_.empty()) return false;
  --value_;
  return true;
}

void BoundedSemaphore::check_release() const {
  if (value() >= bound_ && waiting() == 0) {
    throw std::logic_error(fmt::format(
        "BoundedSemaphore.release: released more often than acquired (bound {})", bound_));
  }
}

void Lock::release() {
  if (!locked()) throw std::logic_error("Lock.release: the lock is not held");
  sem_.release();
}

bool RLock::acquire(std::optional<Duration> timeout) {
  const detail::FiberRecord* me = &detail::Scheduling::running(Hub::current());
  if (owner_ == me) {
    ++depth_;
    return true;
  }
  if (!sem_.acquire(timeout)) return false;
  owner_ = me;
  depth_ = 1;
  return true;
}

bool RLock::try_lock() noexcept {
  const detail::FiberRecord* me = &detail::Scheduling::running(Hub::current());
  if (owner_ == me) {
    ++depth_;
    return true;
  }
  if (!sem_.try_lock()) return false;
  owner_ = me;
  depth_ = 1;
  return true;
}

void RLock::release() {
  if (owner_ != &detail::Scheduling::running(Hub::current())) {
    throw std::logic_error("RLock.release: the calling coroutine does not hold the lock");
  }
  if (--depth_ == 0) {
    owner_ = nullptr;
    sem_.release();
  }
}

}  // namespace braid
