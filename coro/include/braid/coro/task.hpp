// Task: a handle to a scheduled coroutine (gevent's Greenlet), and spawn/joinall.
#pragma once

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/wait_queue.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid {

/// How to spawn: a name for logs and LoopExit messages ("Task-<id>" by default) and
/// the stack size (0 = braid::default_stack_size()).
struct SpawnOptions {
  std::string name;
  std::size_t stack_size = 0;
};

namespace detail {

class TaskBase;

/// An internal completion hook (gevent's rawlink): called on the finishing task's stack
/// (or by kill() for a task that never ran), in the order added, exactly once. It must
/// not throw or park: wait()/iwait() use it to wake their caller.
struct DoneLink {
  void (*fire)(DoneLink* self, TaskBase* task) noexcept = nullptr;
  DoneLink* prev = nullptr;
  DoneLink* next = nullptr;
  TaskBase* task = nullptr;  // where it is linked; null once fired or removed
};

/// Which outcomes a link() callback wants (gevent's link, link_value, link_exception).
enum class LinkKind : std::uint8_t { any, value, exception };
/// A link() callback, type-erased: called with the finished task.
using LinkFn = std::function<void(const std::shared_ptr<TaskBase>&)>;

/// What every task shares, whatever its result type.
class TaskBase : public FiberRecord {
 public:
  ~TaskBase() override;
  void run_body() final;
  void on_finished() noexcept final;
  void on_killed_before_start() noexcept final;

  bool finished() const noexcept { return state == FiberState::done; }
  bool join(std::optional<Duration> timeout);
  /// Raises GreenletExit in the task; `exception`, when given, becomes what the task
  /// ended with (the task itself unwinds with GreenletExit: see docs/porting.md).
  void kill(bool block, std::exception_ptr exception = nullptr);
  /// Schedules a task made by make_task() to run after `delay`; no-op once scheduled.
  /// `self` owns this task (the hub keeps it alive while it runs).
  void start(Duration delay, std::shared_ptr<TaskBase> self);
  std::exception_ptr observe_error() noexcept {
    error_observed = true;
    return error;
  }
  /// Ended by an exception other than a plain kill (what raise_error reports).
  bool failed() const noexcept { return error != nullptr && !killed; }

  void add_done_link(DoneLink& l) noexcept;
  void remove_done_link(DoneLink& l) noexcept;
  /// Registers `fn` to run in a coroutine of its own once the task has finished (at
  /// once, i.e. at the hub's next turn, when it already has). Returns its id for unlink.
  /// `self` owns this task: runners keep it alive (remembered weakly, so only tasks with
  /// links pay for it).
  std::uint64_t add_link(LinkKind kind, LinkFn fn, const std::shared_ptr<TaskBase>& self);
  bool remove_link(std::uint64_t id) noexcept;

  WaitQueue joiners;              // parked in join()/get()
  std::exception_ptr error;       // what ended it, if not a value
  std::exception_ptr kill_error;  // kill(exception): recorded instead of GreenletExit
  bool killed = false;            // ended by GreenletExit, or killed before starting
  bool error_observed = false;    // someone joined it or looked at the error
  bool scheduled = false;         // spawned, or start()ed; false for make_task until then
  void (*done_hook)(void*, TaskBase*) noexcept = nullptr;  // Group membership
  void* done_hook_arg = nullptr;

 protected:
  virtual void invoke() = 0;                  // calls the function and stores its value
  virtual void drop_callable() noexcept = 0;  // frees the function and arguments

  Duration delay_{};  // start_later/spawn_later: sleep this long first (a kill meanwhile
                      // means it never runs)

 private:
  struct UserLink {
    std::uint64_t id;
    LinkKind kind;
    LinkFn fn;
  };
  std::optional<UserLink> take_link(std::uint64_t id) noexcept;
  void notify_done() noexcept;
  void spawn_link_runner(std::uint64_t id) noexcept;
  static void run_link(const std::shared_ptr<TaskBase>& self, std::uint64_t id);

  DoneLink* done_head_ = nullptr;
  DoneLink* done_tail_ = nullptr;
  // Made by the first add_link: a task without links pays one pointer for them.
  struct Links {
    std::vector<UserLink> pending;
    std::uint64_t next_id = 1;
    std::weak_ptr<TaskBase> self;  // for the runners; a caller or the hub owns it then
  };
  std::unique_ptr<Links> links_;
};

void prepare_task(TaskBase& t, SpawnOptions&& opts);

template <class T>
class TaskResult : public TaskBase {
 public:
  std::optional<T> value;
};
template <>
class TaskResult<void> : public TaskBase {};

template <class R, class F, class... A>
class TaskImpl final : public TaskResult<R> {
 public:
  template <class G, class... B>
  explicit TaskImpl(Duration delay, G&& g, B&&... b)
      : call_(std::in_place, std::forward<G>(g), std::forward<B>(b)...) {
    this->delay_ = delay;
  }

 protected:
  void invoke() override;
  void drop_callable() noexcept override { call_.reset(); }

 private:
  std::optional<std::tuple<F, A...>> call_;
};

void sleep_for(Duration d);

template <class R, class F, class... A>
void TaskImpl<R, F, A...>::invoke() {
  if (this->delay_ > Duration::zero()) sleep_for(this->delay_);
  auto fn = [](F& f, A&... a) -> decltype(auto) {
    return std::invoke(std::move(f), std::move(a)...);
  };
  if constexpr (std::is_void_v<R>) {
    std::apply(fn, *call_);
  } else {
    this->value.emplace(std::apply(fn, *call_));
  }
}

template <class F, class... A>
using SpawnResult = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>;

}  // namespace detail

/// Identifies a callback added by Task::link*, for Task::unlink (std::function has no
/// equality, so unlink takes this instead of the callback: see docs/porting.md).
struct LinkId {
  std::uint64_t value = 0;
};

/// A copyable handle to a coroutine's shared state (gevent's Greenlet).
template <class T = void>
class Task {
 public:
  Task() = default;
  explicit Task(std::shared_ptr<detail::TaskResult<T>> state) : state_(std::move(state)) {}

  /// Finished: returned a value, threw, or was killed.
  bool ready() const { return state().finished(); }
  /// Finished with a value.
  bool successful() const { return ready() && !state_->error; }
  /// Waits for the task (parks the caller) and returns its value, or rethrows what it
  /// threw (GreenletExit if it was killed). With `timeout`, TimeoutError when the task
  /// has not finished by then (gevent's get(timeout=...) raising Timeout; a zero timeout
  /// is get(block=False)). Throws std::logic_error when a task waits on itself,
  /// TimeoutError from an enclosing Timeout, LoopExit if it can never finish.
  T get(std::optional<Duration> timeout = {});
  /// Waits until finished or `timeout` elapsed; true when finished. Never rethrows. A
  /// task made by make_task() and not started yet is waited for like any other: join
  /// returns once someone starts it and it finishes (or on timeout).
  /// @throws the parking-call errors (errors.hpp).
  bool join(std::optional<Duration> timeout = {}) { return state().join(timeout); }
  /// Raises GreenletExit in the task at its switch point (a task that has not started
  /// never runs). With `block`, waits until it has finished unwinding.
  void kill(bool block = true) { state().kill(block); }
  /// gevent's kill(exception, block, timeout): as kill(), but the task ends with
  /// `exception` (what exception() and get() report) instead of GreenletExit. The task
  /// itself still unwinds with GreenletExit: a C++ coroutine can only be interrupted
  /// with braid's own exceptions. With `block`, waits at most `timeout` for it to end.
  void kill(std::exception_ptr exception, bool block = true, std::optional<Duration> timeout = {}) {
    state().kill(false, std::move(exception));
    if (block) state().join(timeout);
  }
  /// What the task threw (GreenletExit when killed); null while running or on success.
  std::exception_ptr exception() const { return state_->observe_error(); }
  std::uint64_t id() const { return state().id; }
  const std::string& name() const { return state().display_name(); }
  /// False for a default-constructed handle.
  bool valid() const noexcept { return state_ != nullptr; }
  /// The type-erased state (for Group and diagnostics).
  const std::shared_ptr<detail::TaskResult<T>>& state_ptr() const noexcept { return state_; }

  /// Schedules a task made by make_task() to run at the hub's next turn (gevent's
  /// start()). No-op when it is already scheduled, running, finished or killed.
  void start() { state().start(Duration::zero(), state_); }
  /// Schedules it to run after `d` (gevent's start_later()); no-op as start().
  void start_later(Duration d) { state().start(d, state_); }
  /// Scheduled and not finished yet (gevent's `started`, i.e. bool(greenlet)): false for
  /// a make_task() task before start(), and false again once it has finished.
  bool started() const { return state().scheduled && !state().finished(); }

  /// Calls `callback(task)` (or `callback()`) in a coroutine of its own once the task
  /// has finished, whatever the outcome; at once (the hub's next turn) when it already
  /// has. Callbacks start in the order they were linked; one that parks does not hold
  /// up the next. An exception from a callback is logged, never propagated.
  template <class F>
  LinkId link(F&& callback) {
    return add(detail::LinkKind::any, std::forward<F>(callback));
  }
  /// As link(), only when the task finishes with a value.
  template <class F>
  LinkId link_value(F&& callback) {
    return add(detail::LinkKind::value, std::forward<F>(callback));
  }
  /// As link(), only when the task ends with an exception (killed included: braid counts
  /// a killed task as not successful).
  template <class F>
  LinkId link_exception(F&& callback) {
    return add(detail::LinkKind::exception, std::forward<F>(callback));
  }
  /// Removes a callback that has not been called yet; false when it already ran (or
  /// never belonged to this task).
  bool unlink(LinkId id) { return state().remove_link(id.value); }

 private:
  template <class F>
  LinkId add(detail::LinkKind kind, F&& callback);
  detail::TaskResult<T>& state() const;
  std::shared_ptr<detail::TaskResult<T>> state_;
};

namespace detail {
[[noreturn]] void throw_invalid_task();
[[noreturn]] void throw_get_timeout(const TaskBase& t, Duration timeout);
}  // namespace detail

template <class T>
detail::TaskResult<T>& Task<T>::state() const {
  if (!state_) detail::throw_invalid_task();
  return *state_;
}

template <class T>
T Task<T>::get(std::optional<Duration> timeout) {
  auto& s = state();
  if (!s.join(timeout)) detail::throw_get_timeout(s, *timeout);
  if (std::exception_ptr e = s.observe_error()) std::rethrow_exception(e);
  if constexpr (!std::is_void_v<T>) {
    if constexpr (std::is_copy_constructible_v<T>) {
      return *s.value;
    } else {
      return std::move(*s.value);
    }
  }
}

template <class T>
template <class F>
LinkId Task<T>::add(detail::LinkKind kind, F&& callback) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&, Task<T>> || std::is_invocable_v<Fn&>,
                "Task::link: the callback must be callable as f(Task<T>) or f()");
  auto fn =
      [f = Fn(std::forward<F>(callback))](const std::shared_ptr<detail::TaskBase>& base) mutable {
        if constexpr (std::is_invocable_v<Fn&, Task<T>>) {
          f(Task<T>(std::static_pointer_cast<detail::TaskResult<T>>(base)));
        } else {
          f();
        }
      };
  return LinkId{state().add_link(kind, std::move(fn), state_)};
}

/// Makes a task that runs `f(args...)` but does not schedule it (gevent's
/// `Greenlet(f, *args)`): call start() or start_later(d). Arguments are decay-copied.
/// Killing it first means it never runs.
template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto make_task(SpawnOptions opts, F&& f, A&&... args) -> Task<detail::SpawnResult<F, A...>> {
  using R = detail::SpawnResult<F, A...>;
  auto st = std::make_shared<detail::TaskImpl<R, std::decay_t<F>, std::decay_t<A>...>>(
      Duration::zero(), std::forward<F>(f), std::forward<A>(args)...);
  detail::prepare_task(*st, std::move(opts));
  return Task<R>(std::move(st));
}

template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto make_task(F&& f, A&&... args) -> Task<detail::SpawnResult<F, A...>> {
  return make_task(SpawnOptions{}, std::forward<F>(f), std::forward<A>(args)...);
}

/// Spawns `f(args...)` as a coroutine on the calling thread's hub; it starts at the
/// hub's next turn (when the caller parks or yields). Arguments are decay-copied.
/// @par Example
/// @code
///   auto t = braid::spawn([](int x) { braid::sleep(10ms); return x * 2; }, 21);
///   assert(t.get() == 42);
/// @endcode
template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto spawn(SpawnOptions opts, F&& f, A&&... args) -> Task<detail::SpawnResult<F, A...>> {
  auto t = make_task(std::move(opts), std::forward<F>(f), std::forward<A>(args)...);
  t.start();
  return t;
}

template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto spawn(F&& f, A&&... args) -> Task<detail::SpawnResult<F, A...>> {
  return spawn(SpawnOptions{}, std::forward<F>(f), std::forward<A>(args)...);
}

/// Spawns `f(args...)` to start after `d`. Killing it before then means it never runs.
template <class F, class... A>
  requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
auto spawn_later(Duration d, F&& f, A&&... args) -> Task<detail::SpawnResult<F, A...>> {
  auto t = make_task(SpawnOptions{}, std::forward<F>(f), std::forward<A>(args)...);
  t.start_later(d);
  return t;
}

namespace detail {
void killall(std::vector<std::shared_ptr<TaskBase>> tasks, std::exception_ptr exception, bool block,
             std::optional<Duration> timeout);
}  // namespace detail

/// Waits for every task in `tasks` (a range of Task handles); true when all finished
/// within `timeout`. Never rethrows the tasks' exceptions. For gevent's raise_error and
/// count, and the list of finished tasks, see joinall(tasks, JoinallOptions) in wait.hpp.
/// @throws the parking-call errors (errors.hpp).
template <class Range>
  requires std::ranges::range<Range>
bool joinall(Range&& tasks, std::optional<Duration> timeout = {}) {
  const detail::CallDeadline until(timeout);  // one deadline for all the joins
  for (auto& t : tasks) {
    if (!t.join(until.remaining())) return false;
  }
  return true;
}

/// Waits for every task given; true when all finished.
/// @throws the parking-call errors (errors.hpp).
template <class... T>
bool joinall(Task<T>&... tasks) {
  return (tasks.join() && ...);
}

template <class T>
bool joinall(std::initializer_list<Task<T>> tasks, std::optional<Duration> timeout = {}) {
  const detail::CallDeadline until(timeout);
  for (auto t : tasks) {
    if (!t.join(until.remaining())) return false;
  }
  return true;
}

/// gevent.killall: kills every task in `tasks` (a range of Task handles). Tasks that
/// have not started never run. `exception` (null: GreenletExit) becomes what each task
/// ends with, as Task::kill(exception). With `block`, waits until all have finished;
/// TimeoutError when `timeout` elapses first (gevent raises Timeout). A task in the list
/// that is the caller is killed last: GreenletExit is thrown after the others are done.
template <class Range>
  requires std::ranges::range<Range>
void killall(Range&& tasks, std::exception_ptr exception = nullptr, bool block = true,
             std::optional<Duration> timeout = {}) {
  std::vector<std::shared_ptr<detail::TaskBase>> states;
  for (auto& t : tasks) {
    if (t.valid()) states.push_back(t.state_ptr());
  }
  detail::killall(std::move(states), std::move(exception), block, timeout);
}

template <class T>
void killall(std::initializer_list<Task<T>> tasks, std::exception_ptr exception = nullptr,
             bool block = true, std::optional<Duration> timeout = {}) {
  killall(std::vector<Task<T>>(tasks), std::move(exception), block, timeout);
}

}  // namespace braid
