#include <braid/runtime/detail/wait_queue.hpp>

#include <braid/runtime/detail/deadline.hpp>

namespace braid::detail {

bool WaitQueue::wait(std::optional<Duration> timeout, WaitInfo info, void* slot) {
  Hub& hub = Hub::current();
  Waiter w;
  w.fiber = &detail::Scheduling::running(hub);
  w.slot = slot;
  push(w);
  Deadline deadline(timeout);
  // Every path out of park() has unlinked `w`: notify does, and so does cancel_wait
  // (kill, timeout, LoopExit).
  const detail::ParkResult r =
      detail::Scheduling::park(hub, info, &WaitQueue::cancel_wait, &w, deadline.id());
  return r == detail::ParkResult::woken && w.notified;
}

void WaitQueue::cancel_wait(void* waiter) noexcept {
  auto* w = static_cast<Waiter*>(waiter);
  if (w->queue != nullptr) w->queue->remove(*w);
  detail::Scheduling::schedule(Hub::current(), *w->fiber);
}

bool WaitQueue::notify_one() noexcept {
  Waiter* w = head_;
  if (w == nullptr) return false;
  remove(*w);
  w->notified = true;
  detail::Scheduling::schedule(Hub::current(), *w->fiber);
  return true;
}

std::size_t WaitQueue::notify_all() noexcept {
  std::size_t n = 0;
  while (notify_one()) ++n;
  return n;
}

void WaitQueue::push(Waiter& w) noexcept {
  w.queue = this;
  w.prev = tail_;
  w.next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = &w;
  } else {
    head_ = &w;
  }
  tail_ = &w;
  ++size_;
}

void WaitQueue::remove(Waiter& w) noexcept {
  if (w.prev != nullptr) {
    w.prev->next = w.next;
  } else {
    head_ = w.next;
  }
  if (w.next != nullptr) {
    w.next->prev = w.prev;
  } else {
    tail_ = w.prev;
  }
  w.prev = w.next = nullptr;
  w.queue = nullptr;
  --size_;
}

}  // namespace braid::detail
