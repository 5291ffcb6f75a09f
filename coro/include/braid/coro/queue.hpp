// Queue and JoinableQueue for coroutines of one hub (gevent.queue). Items are handed
// straight to a parked getter, and a parked putter's item moves straight into the queue
// when room appears, so order is FIFO and nothing is lost to a timeout or a kill.
#pragma once

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/wait_queue.hpp>
#include <braid/runtime/errors.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <stdexcept>
#include <utility>

namespace braid {

template <class T>
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
  bool empty() const noexcept { return items_.empty(); }
  bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }
  std::size_t maxsize() const noexcept { return maxsize_; }

 protected:
  virtual void on_put() {}

 private:
  void push(T&& v);
  T pop();

  std::size_t maxsize_;
  std::deque<T> items_;
  detail::WaitQueue getters_;  // slot: std::optional<T>* to receive an item
  detail::WaitQueue putters_;  // slot: T* holding the item to add
};

template <class T>
void Queue<T>::push(T&& v) {
  if (detail::Waiter* g = getters_.front()) {
    static_cast<std::optional<T>*>(g->slot)->emplace(std::move(v));
    getters_.notify_one();
  } else {
    items_.push_back(std::move(v));
  }
  on_put();
}

template <class T>
T Queue<T>::pop() {
  T v = std::move(items_.front());
  items_.pop_front();
  if (detail::Waiter* p = putters_.front()) {  // room appeared: admit the oldest putter
    items_.push_back(std::move(*static_cast<T*>(p->slot)));
    putters_.notify_one();
    on_put();
  }
  return v;
}

template <class T>
void Queue<T>::put(T v, std::optional<Duration> timeout) {
  if (!full() && putters_.empty()) {
    Hub::current().check_interrupt();
    push(std::move(v));
    return;
  }
  if (!putters_.wait(timeout, detail::WaitInfo{"Queue.put"}, &v)) {
    throw QueueFull("Queue.put: still full after " + detail::format_duration(*timeout));
  }
}

template <class T>
T Queue<T>::get(std::optional<Duration> timeout) {
  if (!items_.empty()) {
    Hub::current().check_interrupt();
    return pop();
  }
  std::optional<T> slot;
  if (!getters_.wait(timeout, detail::WaitInfo{"Queue.get"}, &slot)) {
    throw QueueEmpty("Queue.get: still empty after " + detail::format_duration(*timeout));
  }
  return std::move(*slot);
}

template <class T>
bool Queue<T>::try_put(T v) {
  if (full() || !putters_.empty()) return false;
  push(std::move(v));
  return true;
}

template <class T>
std::optional<T> Queue<T>::try_get() {
  if (items_.empty()) return std::nullopt;
  return pop();
}

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
