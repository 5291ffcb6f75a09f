// gevent.wait / gevent.iwait: wait for whichever of several objects (tasks, events,
// async results, queues, anything with ready() and wait()) becomes ready first, and
// joinall with gevent's raise_error and count.
//
// How it waits without polling: a task reports its end through an internal completion
// hook (gevent's rawlink); an Event, AsyncResult or Queue has no such hook, so each one
// not ready yet gets a small helper coroutine parked in its own wait (Event::wait,
// AsyncResult::wait, Queue::peek) that reports back when it returns. Helpers are killed
// and reaped before wait() returns or the iwait range is destroyed, so nothing touches
// the objects afterwards.
#pragma once

#include <braid/coro/event.hpp>
#include <braid/coro/queue.hpp>
#include <braid/coro/task.hpp>

#include <concepts>
#include <cstddef>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid {

class Waitable;

namespace detail {
template <class T, class S>
void queue_base(const Queue<T, S>&);
/// Queue<T, Store> and the classes built on it (LifoQueue, PriorityQueue, JoinableQueue).
template <class X>
concept queue_like = requires(const X& x) { detail::queue_base(x); };
/// Any other type with bool ready() and wait(): AsyncResult, process::PoolResult, yours.
template <class X>
concept ready_waitable = !queue_like<X> && !std::same_as<std::remove_cv_t<X>, Waitable> &&
                         requires(X& x) {
                           { x.ready() } -> std::convertible_to<bool>;
                           x.wait();
                         };
}  // namespace detail

/// A reference to one object wait()/iwait() can wait on, whatever its type: a Task (any
/// result type), an Event (ready = set), a Queue (ready = has an item, or is shut down:
/// get() would not block), or any type with `bool ready()` and `wait()` (AsyncResult,
/// PoolResult, your own). Implicit from those, so `braid::wait({task, event, queue})`
/// mixes them. It does not own the object (a Task handle is copied): the object must
/// outlive the wait.
class Waitable {
 public:
  template <class T>
  Waitable(const Task<T>& t)  // NOLINT(google-explicit-constructor): mixes in a braced list
      : addr_(t.state_ptr().get()), task_(t.state_ptr()) {
    if (!task_) detail::throw_invalid_task();
  }
  Waitable(Event& e) : obj_(&e), addr_(&e), ops_(&kEventOps) {}  // NOLINT
  template <class Q>
    requires detail::queue_like<Q>
  Waitable(Q& q) : obj_(&q), addr_(&q), ops_(&queue_ops<Q>) {}  // NOLINT
  template <class X>
    requires detail::ready_waitable<X>
  Waitable(X& x) : obj_(&x), addr_(&x), ops_(&ready_ops<X>) {}  // NOLINT
  /// A pointer to any of the above (a range of Event* or Queue<T>*).
  template <class X>
    requires std::constructible_from<Waitable, X&>
  Waitable(X* p) : Waitable(*p) {}  // NOLINT

  /// Ready now: the task finished, the event is set, the queue has an item...
  bool ready() const;
  /// True when this refers to `x` (the same task, whichever handle; the same object).
  template <class X>
  bool is(const X& x) const {
    return Waitable(const_cast<X&>(x)).addr_ == addr_;
  }
  /// The task state, when this refers to a task (else null).
  const std::shared_ptr<detail::TaskBase>& task() const noexcept { return task_; }
  /// Parks until ready (what a helper coroutine runs); not for tasks.
  void block() const { ops_->block(obj_); }

 private:
  struct Ops {
    bool (*ready)(const void*);
    void (*block)(void*);
  };
  template <class Q>
  static constexpr Ops queue_ops{
      // Shut down and drained, get() no longer blocks either: that is ready too.
      [](const void* q) {
        auto* queue = static_cast<const Q*>(q);
        return !queue->empty() || queue->is_shutdown();
      },
      [](void* q) {
        static_assert(requires(Q& x) { x.peek(); },
                      "braid::wait on a Queue needs Queue::peek (a copyable item type)");
        (void)static_cast<Q*>(q)->peek();
      }};
  template <class X>
  static constexpr Ops ready_ops{
      [](const void* x) {
        return static_cast<bool>(const_cast<X*>(static_cast<const X*>(x))->ready());
      },
      [](void* x) { static_cast<X*>(x)->wait(); }};
  static const Ops kEventOps;

  void* obj_ = nullptr;
  const void* addr_ = nullptr;
  const Ops* ops_ = nullptr;
  std::shared_ptr<detail::TaskBase> task_;
};

namespace detail {

/// The state behind one wait()/iwait(): what is ready, the caller parked for more, the
/// hooks and helper coroutines watching the rest. Not movable (hooks point into it).
class WaitSet {
 public:
  WaitSet(std::vector<Waitable> objects, std::optional<Duration> timeout,
          std::optional<std::size_t> count);
  WaitSet(const WaitSet&) = delete;
  WaitSet& operator=(const WaitSet&) = delete;
  /// Stops watching: unhooks from tasks, kills and reaps the helper coroutines.
  ~WaitSet();

  /// Parks until the next object is ready and returns its index; nullopt once `count`
  /// objects were reported, all were, or the timeout elapsed. The first call starts the
  /// watching (and the timeout's clock). Ready objects come in input order first, then
  /// in the order they became ready. Each object is reported at most once.
  std::optional<std::size_t> next();

 private:
  struct TaskHook : DoneLink {
    WaitSet* set = nullptr;
    std::size_t index = 0;
  };
  void begin();
  void mark_ready(std::size_t i) noexcept;
  void finish() noexcept;
  void reap_helpers() noexcept;
  static void task_done(DoneLink* l, TaskBase* t) noexcept;

  std::vector<Waitable> objects_;
  std::optional<Duration> timeout_;
  detail::CallDeadline until_;  // set by begin()
  std::size_t left_;
  std::vector<bool> queued_;  // reported, or waiting in ready_
  std::deque<std::size_t> ready_;
  std::unique_ptr<TaskHook[]> hooks_;  // one per object; only tasks' are linked
  std::vector<std::shared_ptr<TaskBase>> helpers_;
  WaitQueue caller_;  // the coroutine iterating, parked in next()
  bool begun_ = false;
  bool finished_ = false;
};

template <class Item>
Waitable to_waitable(const Item& item) {
  if constexpr (std::is_pointer_v<Item>) {
    return Waitable(*item);
  } else {
    return Waitable(const_cast<Item&>(item));
  }
}

/// What wait()/iwait() over a range hand back: the element itself when copyable (a Task,
/// a pointer, a Waitable), else a pointer to it (an Event, a Queue).
template <class Range>
using wait_item_t =
    std::conditional_t<std::copy_constructible<std::ranges::range_value_t<Range>>,
                       std::ranges::range_value_t<Range>, std::ranges::range_value_t<Range>*>;

/// A range wait()/iwait() accept: its items convert to Waitable.
template <class Range>
concept waitable_range =
    std::ranges::input_range<Range> && std::constructible_from<Waitable, wait_item_t<Range>&>;

/// A range of Task handles (joinall).
template <class Range>
concept task_range = std::ranges::input_range<Range> &&
                     requires(std::ranges::range_value_t<Range>& t) { t.state_ptr(); };

}  // namespace detail

/// gevent.iwait: a range yielding the objects as they become ready, parking between
/// them. Use it once, in a range-for; breaking out early (or destroying it) stops the
/// watching.
/// @par Example
/// @code
///   for (auto& t : braid::iwait(tasks, 5s)) std::cout << t.get() << '\n';
/// @endcode
template <class Item>
class WaitRange {
 public:
  WaitRange(std::vector<Item> items, std::optional<Duration> timeout,
            std::optional<std::size_t> count)
      : items_(std::move(items)), set_(make_set(items_, timeout, count)) {}

  class iterator {
   public:
    using value_type = Item;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Item& operator*() const { return range_->items_[*range_->current_]; }
    Item* operator->() const { return &**this; }
    iterator& operator++() {
      range_->current_ = range_->set_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !range_->current_; }

   private:
    friend class WaitRange;
    explicit iterator(WaitRange* r) : range_(r) {}
    WaitRange* range_ = nullptr;
  };

  /// Parks until the first object is ready (or the end).
  iterator begin() {
    current_ = set_->next();
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  static std::unique_ptr<detail::WaitSet> make_set(const std::vector<Item>& items,
                                                   std::optional<Duration> timeout,
                                                   std::optional<std::size_t> count) {
    std::vector<Waitable> objects;
    objects.reserve(items.size());
    for (const auto& it : items) objects.push_back(detail::to_waitable(it));
    return std::make_unique<detail::WaitSet>(std::move(objects), timeout, count);
  }

  std::vector<Item> items_;
  std::unique_ptr<detail::WaitSet> set_;
  std::optional<std::size_t> current_;
};

/// gevent.iwait(objects, timeout, count) over a range (a vector of tasks, an array of
/// Event*): yields its elements (or, for non-copyable elements, pointers to them) as
/// they become ready; ends after `count` of them, after all, or when `timeout` (counted
/// from the first step) elapses.
template <detail::waitable_range Range>
WaitRange<detail::wait_item_t<Range>> iwait(Range&& objects, std::optional<Duration> timeout = {},
                                            std::optional<std::size_t> count = {}) {
  using Item = detail::wait_item_t<Range>;
  std::vector<Item> items;
  for (auto& o : objects) {
    if constexpr (std::is_same_v<Item, std::ranges::range_value_t<Range>>) {
      items.push_back(o);
    } else {
      items.push_back(&o);
    }
  }
  return WaitRange<Item>(std::move(items), timeout, count);
}

/// iwait over a braced list of mixed objects: `braid::iwait({task, event, queue})`
/// yields Waitable references (ask `w.is(event)`).
inline WaitRange<Waitable> iwait(std::initializer_list<Waitable> objects,
                                 std::optional<Duration> timeout = {},
                                 std::optional<std::size_t> count = {}) {
  return WaitRange<Waitable>(std::vector<Waitable>(objects), timeout, count);
}

/// gevent.wait(objects, timeout, count): parks until `count` of the objects (all of
/// them by default) are ready or `timeout` elapsed, and returns the ready ones in the
/// order they became ready (those ready at the call first, in input order). Never
/// throws on timeout: it returns what was ready by then.
template <detail::waitable_range Range>
std::vector<detail::wait_item_t<Range>> wait(Range&& objects, std::optional<Duration> timeout = {},
                                             std::optional<std::size_t> count = {}) {
  std::vector<detail::wait_item_t<Range>> out;
  for (auto& o : iwait(std::forward<Range>(objects), timeout, count)) out.push_back(o);
  return out;
}

/// wait over a braced list of mixed objects: `braid::wait({task, event}, 1s, 1)`.
inline std::vector<Waitable> wait(std::initializer_list<Waitable> objects,
                                  std::optional<Duration> timeout = {},
                                  std::optional<std::size_t> count = {}) {
  std::vector<Waitable> out;
  for (auto& o : iwait(objects, timeout, count)) out.push_back(o);
  return out;
}

/// gevent.joinall's keyword arguments.
struct JoinallOptions {
  std::optional<Duration> timeout = std::nullopt;   // overall; no value = no limit
  bool raise_error = false;                         // rethrow the first failure (in
                                                    // finishing order)
  std::optional<std::size_t> count = std::nullopt;  // stop after this many finished
};

/// gevent.joinall(tasks, timeout, raise_error, count): waits for the tasks and returns
/// those that finished, in finishing order (already finished ones first). With
/// raise_error, rethrows the exception of the first task found failed (a plain kill is
/// not a failure, as in gevent); with count, returns after that many.
/// @par Example
/// @code
///   auto done = braid::joinall(tasks, {.timeout = 2s, .raise_error = true});
/// @endcode
template <detail::task_range Range>
std::vector<std::ranges::range_value_t<Range>> joinall(Range&& tasks, const JoinallOptions& opts) {
  std::vector<std::ranges::range_value_t<Range>> done;
  for (auto& t : iwait(std::forward<Range>(tasks), opts.timeout, opts.count)) {
    const auto& st = t.state_ptr();
    st->error_observed = true;  // joined: its exception is not "never retrieved"
    if (opts.raise_error && st->failed()) std::rethrow_exception(st->error);
    done.push_back(t);
  }
  return done;
}

template <class T>
std::vector<Task<T>> joinall(std::initializer_list<Task<T>> tasks, const JoinallOptions& opts) {
  return joinall(std::vector<Task<T>>(tasks), opts);
}

}  // namespace braid
