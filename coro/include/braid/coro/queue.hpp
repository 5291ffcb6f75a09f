// Queue and JoinableQueue for coroutines of one hub (gevent.queue). Items are handed
// straight to a parked getter, and a parked putter's item moves straight into the queue
// when room appears, so order is FIFO and nothing is lost to a timeout or a kill.
#pragma once

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/wait_queue.hpp>
#include <braid/runtime/errors.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace braid {

namespace detail {

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
  virtual ~Queue() = default;

  /// Adds `v`, parking while the queue is full. QueueFull when `timeout` elapsed first
  /// (the item is not added).
  void put(T v, std::optional<Duration> timeout = {});
  /// Removes the oldest item, parking while empty. QueueEmpty when `timeout` elapsed.
  T get(std::optional<Duration> timeout = {});
  /// Adds `v` if there is room now; never parks.
  bool try_put(T v);
  /// Removes the oldest item if there is one now; never parks.
  std::optional<T> try_get();

  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.size() == 0; }
  bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }
  std::size_t maxsize() const noexcept { return maxsize_; }

 protected:
  virtual void on_put() {}

 private:
  void push(T&& v);
  T pop();

  std::size_t maxsize_;
  Store items_;
  detail::WaitQueue getters_;  // slot: std::optional<T>* to receive an item
  detail::WaitQueue putters_;  // slot: T* holding the item to add
};

template <class T, class Store>
void Queue<T, Store>::push(T&& v) {
  if (detail::Waiter* g = getters_.front()) {
    static_cast<std::optional<T>*>(g->slot)->emplace(std::move(v));
    getters_.notify_one();
  } else {
    items_.push(std::move(v));
  }
  on_put();
}

template <class T, class Store>
T Queue<T, Store>::pop() {
  T v = items_.pop();
  if (detail::Waiter* p = putters_.front()) {  // room appeared: admit the oldest putter
    items_.push(std::move(*static_cast<T*>(p->slot)));
    putters_.notify_one();
    on_put();
  }
  return v;
}

template <class T, class Store>
void Queue<T, Store>::put(T v, std::optional<Duration> timeout) {
  if (!full() && putters_.empty()) {
    Hub::current().check_interrupt();
    push(std::move(v));
    return;
  }
  if (!putters_.wait(timeout, detail::WaitInfo{"Queue.put"}, &v)) {
    throw QueueFull("Queue.put: still full after " + detail::format_duration(*timeout));
  }
}

template <class T, class Store>
T Queue<T, Store>::get(std::optional<Duration> timeout) {
  if (!empty()) {
    Hub::current().check_interrupt();
    return pop();
  }
  std::optional<T> slot;
  if (!getters_.wait(timeout, detail::WaitInfo{"Queue.get"}, &slot)) {
    throw QueueEmpty("Queue.get: still empty after " + detail::format_duration(*timeout));
  }
  return std::move(*slot);
}

template <class T, class Store>
bool Queue<T, Store>::try_put(T v) {
  if (full() || !putters_.empty()) return false;
  push(std::move(v));
  return true;
}

template <class T, class Store>
std::optional<T> Queue<T, Store>::try_get() {
  if (empty()) return std::nullopt;
  return pop();
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

 private:
  std::size_t unfinished_ = 0;
  detail::WaitQueue joiners_;
};

}  // namespace braid
