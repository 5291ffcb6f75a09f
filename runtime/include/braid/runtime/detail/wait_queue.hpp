// A FIFO of parked contexts: the building block of Event, Lock, Semaphore, Queue and
// Task::join. Waking is a push onto the ready queue, never a kernel call.
#pragma once

#include <braid/runtime/hub.hpp>

#include <optional>

namespace braid::detail {

class WaitQueue;

struct Waiter {
  FiberRecord* fiber = nullptr;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  WaitQueue* queue = nullptr;  // null once woken or removed
  bool notified = false;       // woken by notify (not by timeout or interrupt)
  void* slot = nullptr;        // optional hand-off storage for the notifier
};

class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  /// Parks the running context until notified. Returns false when `timeout` elapsed
  /// first. Throws GreenletExit (kill), TimeoutError (an enclosing Timeout) and, in the
  /// root context, LoopExit. `slot` is handed to the notifier through front().
  bool wait(std::optional<Duration> timeout, WaitInfo info, void* slot = nullptr);

  /// The first waiter (to hand it something through its slot), or nullptr.
  Waiter* front() const noexcept { return head_; }
  /// Wakes the first waiter; false when there is none.
  bool notify_one() noexcept;
  /// Wakes every waiter; returns how many.
  std::size_t notify_all() noexcept;
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

 private:
  void push(Waiter& w) noexcept;
  void remove(Waiter& w) noexcept;
  static void cancel_wait(void* waiter) noexcept;

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace braid::detail
