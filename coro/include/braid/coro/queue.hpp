// Queue and JoinableQueue for coroutines of one hub (gevent.queue). Items are handed
// straight to a parked getter, and a parked putter's item moves straight into the queue
// when room appears, so order is FIFO and nothing is lost to a timeout or a kill.
// shutdown() closes a queue as Python 3.13's queue.Queue.shutdown does.
#pragma once

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/wait_queue.hpp>
#include <braid/runtime/errors.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid {

/// Python 3.13's queue.ShutDown: put() on a queue (or Channel) that was shut down, or
/// get()/peek() on one that is shut down and has no items left. Coroutines parked in put()
/// or get() when it is shut down are woken with it.
struct QueueShutDown : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {

/// What a parked getter (or peeker) leaves for the putter that wakes it. A peeker gets a
/// copy and the item goes on to the next waiter; an empty `out` after the wake means
/// the queue was shut down.
template <class T>
struct GetSlot {
  std::optional<T>* out;
  bool peek = false;
};

/// What a parked putter leaves for the getter that takes its item. The putter reads only
/// this after its wake (the queue may be gone by then): `taken` false means shut down.
template <class T>
struct PutSlot {
  T* item;
  bool taken = false;
};

/// The order a Queue hands out its items: oldest first (Queue), newest first
/// (LifoQueue), or smallest first (PriorityQueue). Items handed straight to a parked
/// getter never enter the store (the store was empty).
template <class T>
struct FifoStore {
  std::deque<T> items;
  void push(T&& v) { items.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items.front());
    items.pop_front();
    return v;
  }
  const T& front() const { return items.front(); }
  std::size_t size() const noexcept { return items.size(); }
};

template <class T>
struct LifoStore {
  std::vector<T> items;
  void push(T&& v) { items.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
  const T& front() const { return items.back(); }
  std::size_t size() const noexcept { return items.size(); }
};

/// A binary heap whose top is the smallest item under `Compare` (Python's heapq order).
template <class T, class Compare>
struct PriorityStore {
  std::vector<T> items;
  Compare less{};
  // std::*_heap keep the largest on top: invert the comparison.
  bool after(const T& a, const T& b) const { return less(b, a); }
  void push(T&& v) {
    items.push_back(std::move(v));
    std::push_heap(items.begin(), items.end(),
                   [this](const T& a, const T& b) { return after(a, b); });
  }
  T pop() {
    std::pop_heap(items.begin(), items.end(),
                  [this](const T& a, const T& b) { return after(a, b); });
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
  const T& front() const { return items.front(); }
  std::size_t size() const noexcept { return items.size(); }
};

}  // namespace detail

/// gevent.queue.Queue: FIFO by default; the store chooses the order (see LifoQueue and
/// PriorityQueue).
template <class T, class Store = detail::FifoStore<T>>
class Queue {
 public:
  /// `maxsize` 0 = unbounded.
  explicit Queue(std::size_t maxsize = 0) : maxsize_(maxsize) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  /// Coroutines still parked on the queue are woken with QueueShutDown (they would
  /// otherwise touch freed memory when woken or killed later).
  virtual ~Queue() {
    getters_.notify_all();
    putters_.notify_all();
  }

  /// Adds `v`, parking while the queue is full. QueueFull when `timeout` elapsed first
  /// (the item is not added); QueueShutDown once the queue is shut down (before or while
  /// parked; the item is not added).
  void put(T v, std::optional<Duration> timeout = {});
  /// Removes the next item (oldest, newest or smallest: see the store), parking while
  /// empty. QueueEmpty when `timeout` elapsed; QueueShutDown when the queue is shut down
  /// and empty.
  T get(std::optional<Duration> timeout = {});
  /// Adds `v` if there is room now; never parks. QueueShutDown once shut down.
  bool try_put(T v);
  /// Removes the next item if there is one now; never parks. QueueShutDown when shut down
  /// and empty (as Python's get_nowait).
  std::optional<T> try_get();
  /// gevent's Queue.peek: a copy of the item get() would return next, left in the queue;
  /// parks while empty. Parked peekers and getters are served in arrival order, so a
  /// peeker parked before a getter sees the item that getter then takes. QueueEmpty when
  /// `timeout` elapsed; QueueShutDown when shut down and empty.
  T peek(std::optional<Duration> timeout = {}) requires std::copy_constructible<T>;
  /// peek_nowait: a copy of the next item if there is one now; never parks.
  /// QueueShutDown when shut down and empty.
  std::optional<T> try_peek() requires std::copy_constructible<T>;

  /// Python 3.13's Queue.shutdown: put() fails with QueueShutDown from now on, and
  /// coroutines parked in put() are woken with it (their items are not added). get()
  /// still returns the items already in the queue, then raises QueueShutDown; parked
  /// getters and peekers (the queue is empty) are woken with it. `immediate` also drops
  /// the items (a JoinableQueue counts each as done). Calling it again is harmless.
  void shutdown(bool immediate = false);
  bool is_shutdown() const noexcept { return shutdown_; }

  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.size() == 0; }
  bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }
  std::size_t maxsize() const noexcept { return maxsize_; }

 protected:
  virtual void on_put() {}
  /// `n` items were dropped by shutdown(immediate).
  virtual void on_drop(std::size_t /*n*/) {}

 private:
  void push(T&& v);
  T pop();
  std::optional<T> wait_for_item(std::optional<Duration> timeout, bool peek);
  void throw_if_shut(const char* what) const;

  std::size_t maxsize_;
  Store items_;
  bool shutdown_ = false;
  // Non-empty only while the store is empty (a getter parks only then, and push() serves
  // it before storing anything).
  detail::WaitQueue getters_;  // slot: detail::GetSlot<T>* (getters and peekers)
  detail::WaitQueue putters_;  // slot: detail::PutSlot<T>*
};

template <class T, class Store>
void Queue<T, Store>::push(T&& v) {
  // Serve waiters in arrival order, as gevent does: peekers ahead of the first getter
  // each see the item; that getter takes it.
  while (detail::Waiter* g = getters_.front()) {
    auto* slot = static_cast<detail::GetSlot<T>*>(g->slot);
    if (slot->peek) {
      if constexpr (std::is_copy_constructible_v<T>) slot->out->emplace(v);
      getters_.notify_one();
      continue;
    }
    slot->out->emplace(std::move(v));
    getters_.notify_one();
    on_put();
    return;
  }
  items_.push(std::move(v));
  on_put();
}

template <class T, class Store>
T Queue<T, Store>::pop() {
  T v = items_.pop();
  if (detail::Waiter* p = putters_.front()) {  // room appeared: admit the oldest putter
    auto* slot = static_cast<detail::PutSlot<T>*>(p->slot);
    items_.push(std::move(*slot->item));
    slot->taken = true;
    putters_.notify_one();
    on_put();
  }
  return v;
}

template <class T, class Store>
void Queue<T, Store>::throw_if_shut(const char* what) const {
  if (shutdown_) throw QueueShutDown(std::string(what) + ": the queue is shut down");
}

template <class T, class Store>
void Queue<T, Store>::put(T v, std::optional<Duration> timeout) {
  throw_if_shut("Queue.put");
  if (!full() && putters_.empty()) {
    detail::Scheduling::check_interrupt(Hub::current());
    push(std::move(v));
    return;
  }
  detail::PutSlot<T> slot{&v};
  if (!putters_.wait(timeout, detail::WaitInfo{"Queue.put"}, &slot)) {
    throw QueueFull("Queue.put: still full after " + detail::format_duration(*timeout));
  }
  if (!slot.taken) throw QueueShutDown("Queue.put: the queue was shut down while put() waited");
}

// Parks a getter (or peeker) on the empty queue; returns what a putter handed over.
template <class T, class Store>
std::optional<T> Queue<T, Store>::wait_for_item(std::optional<Duration> timeout, bool peek) {
  const char* what = peek ? "Queue.peek" : "Queue.get";
  throw_if_shut(what);
  std::optional<T> out;
  detail::GetSlot<T> slot{&out, peek};
  if (!getters_.wait(timeout, detail::WaitInfo{what}, &slot)) {
    throw QueueEmpty(std::string(what) + ": still empty after " +
                     detail::format_duration(*timeout));
  }
  if (!out) throw QueueShutDown(std::string(what) + ": the queue was shut down while it waited");
  return out;
}

template <class T, class Store>
T Queue<T, Store>::get(std::optional<Duration> timeout) {
  if (!empty()) {
    detail::Scheduling::check_interrupt(Hub::current());
    return pop();
  }
  return std::move(*wait_for_item(timeout, false));
}

template <class T, class Store>
T Queue<T, Store>::peek(std::optional<Duration> timeout) requires std::copy_constructible<T> {
  if (!empty()) {
    detail::Scheduling::check_interrupt(Hub::current());
    return items_.front();
  }
  return std::move(*wait_for_item(timeout, true));
}

template <class T, class Store>
bool Queue<T, Store>::try_put(T v) {
  throw_if_shut("Queue.try_put");
  if (full() || !putters_.empty()) return false;
  push(std::move(v));
  return true;
}

template <class T, class Store>
std::optional<T> Queue<T, Store>::try_get() {
  if (!empty()) return pop();
  throw_if_shut("Queue.try_get");
  return std::nullopt;
}

template <class T, class Store>
std::optional<T> Queue<T, Store>::try_peek() requires std::copy_constructible<T> {
  if (!empty()) return items_.front();
  throw_if_shut("Queue.try_peek");
  return std::nullopt;
}

template <class T, class Store>
void Queue<T, Store>::shutdown(bool immediate) {
  shutdown_ = true;
  if (immediate && !empty()) {
    const std::size_t dropped = items_.size();
    while (items_.size() > 0) items_.pop();
    on_drop(dropped);
  }
  // Every parked putter is still waiting for room (its slot is not taken), every parked
  // getter or peeker for an item (the store is empty): each wakes to QueueShutDown.
  getters_.notify_all();
  putters_.notify_all();
}

/// gevent.queue.LifoQueue: get() returns the newest item first.
template <class T>
class LifoQueue : public Queue<T, detail::LifoStore<T>> {
 public:
  using Queue<T, detail::LifoStore<T>>::Queue;
};

/// gevent.queue.PriorityQueue: get() returns the smallest item under `Compare` first
/// (Python's heapq order; put (priority, value) pairs to order by priority). Items that
/// compare equal come out in no particular order.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public Queue<T, detail::PriorityStore<T, Compare>> {
 public:
  using Queue<T, detail::PriorityStore<T, Compare>>::Queue;
};

/// A Queue that also counts unfinished items: each get() should be followed by
/// task_done(); join() waits until every item put has been marked done.
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  using Queue<T>::Queue;

  /// Marks one item as processed. std::logic_error when called more often than put().
  void task_done() {
    if (unfinished_ == 0) {
      throw std::logic_error("JoinableQueue.task_done: called more times than items were put");
    }
    if (--unfinished_ == 0) joiners_.notify_all();
  }
  /// Parks until every item put has been marked done; false when `timeout` elapsed.
  bool join(std::optional<Duration> timeout = {}) {
    if (unfinished_ == 0) return true;
    return joiners_.wait(timeout, detail::WaitInfo{"JoinableQueue.join"}) || unfinished_ == 0;
  }
  std::size_t unfinished() const noexcept { return unfinished_; }

 protected:
  void on_put() override { ++unfinished_; }
  // Python 3.13: shutdown(immediate) counts each dropped item as done.
  void on_drop(std::size_t n) override {
    unfinished_ -= std::min(n, unfinished_);
    if (unfinished_ == 0) joiners_.notify_all();
  }

 private:
  std::size_t unfinished_ = 0;
  detail::WaitQueue joiners_;
};

}  // namespace braid
