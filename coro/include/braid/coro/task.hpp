// Task: a handle to a scheduled coroutine (gevent's Greenlet), and spawn/joinall.
#pragma once

#include <braid/runtime/detail/wait_queue.hpp>
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

namespace braid {

/// How to spawn: a name for logs and LoopExit messages ("Task-<id>" by default) and
/// the stack size (0 = braid::default_stack_size()).
struct SpawnOptions {
  std::string name;
  std::size_t stack_size = 0;
};

namespace detail {

/// What every task shares, whatever its result type.
class TaskBase : public FiberRecord {
 public:
  ~TaskBase() override;
  void run_body() final;
  void on_finished() noexcept final;
  void on_killed_before_start() noexcept final;

  bool finished() const noexcept { return state == FiberState::done; }
  bool join(std::optional<Duration> timeout);
  void kill(bool block);
  std::exception_ptr observe_error() noexcept {
    error_observed = true;
    return error;
  }

  WaitQueue joiners;                // parked in join()/get()
  std::exception_ptr error;         // what ended it, if not a value
  bool killed = false;              // ended by GreenletExit, or killed before starting
  bool error_observed = false;      // someone joined it or looked at the error
  void (*done_hook)(void*, TaskBase*) noexcept = nullptr;  // Group membership
  void* done_hook_arg = nullptr;

 protected:
  virtual void invoke() = 0;        // calls the function and stores its value
  virtual void drop_callable() noexcept = 0;  // frees the function and arguments
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
      : delay_(delay), call_(std::in_place, std::forward<G>(g), std::forward<B>(b)...) {}

 protected:
  void invoke() override;
  void drop_callable() noexcept override { call_.reset(); }

 private:
  Duration delay_;  // spawn_later: sleep this long first (a kill meanwhile means never run)
  std::optional<std::tuple<F, A...>> call_;
};

void sleep_for(Duration d);

template <class R, class F, class... A>
void TaskImpl<R, F, A...>::invoke() {
  if (delay_ > Duration::zero()) sleep_for(delay_);
  auto fn = [](F& f, A&... a) -> decltype(auto) { return std::invoke(std::move(f), std::move(a)...); };
  if constexpr (std::is_void_v<R>) {
    std::apply(fn, *call_);
  } else {
    this->value.emplace(std::apply(fn, *call_));
  }
}

template <class F, class... A>
using SpawnResult = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>;

}  // namespace detail

/// A copyable handle to a spawned coroutine's shared state.
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
  /// threw (GreenletExit if it was killed). Throws std::logic_error when a task waits on
  /// itself, TimeoutError from an enclosing Timeout, LoopExit if it can never finish.
  T get();
  /// Waits until finished or `timeout` elapsed; true when finished. Never rethrows.
  bool join(std::optional<Duration> timeout = {}) { return state().join(timeout); }
  /// Raises GreenletExit in the task at its switch point (a task that has not started
  /// never runs). With `block`, waits until it has finished unwinding.
  void kill(bool block = true) { state().kill(block); }
  /// What the task threw (GreenletExit when killed); null while running or on success.
  std::exception_ptr exception() const { return state_->observe_error(); }
  std::uint64_t id() const { return state().id; }
  const std::string& name() const { return state().display_name(); }
  /// False for a default-constructed handle.
  bool valid() const noexcept { return state_ != nullptr; }
  /// The type-erased state (for Group and diagnostics).
  const std::shared_ptr<detail::TaskResult<T>>& state_ptr() const noexcept { return state_; }

 private:
  detail::TaskResult<T>& state() const;
  std::shared_ptr<detail::TaskResult<T>> state_;
};

namespace detail {
[[noreturn]] void throw_invalid_task();
}

template <class T>
detail::TaskResult<T>& Task<T>::state() const {
  if (!state_) detail::throw_invalid_task();
  return *state_;
}

template <class T>
T Task<T>::get() {
  auto& s = state();
  s.join(std::nullopt);
  if (std::exception_ptr e = s.observe_error()) std::rethrow_exception(e);
  if constexpr (!std::is_void_v<T>) {
    if constexpr (std::is_copy_constructible_v<T>) {
      return *s.value;
    } else {
      return std::move(*s.value);
    }
  }
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
  using R = detail::SpawnResult<F, A...>;
  auto st = std::make_shared<detail::TaskImpl<R, std::decay_t<F>, std::decay_t<A>...>>(
      Duration::zero(), std::forward<F>(f), std::forward<A>(args)...);
  detail::prepare_task(*st, std::move(opts));
  Hub::current().start(st);
  return Task<R>(std::move(st));
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
  using R = detail::SpawnResult<F, A...>;
  auto st = std::make_shared<detail::TaskImpl<R, std::decay_t<F>, std::decay_t<A>...>>(
      d, std::forward<F>(f), std::forward<A>(args)...);
  detail::prepare_task(*st, SpawnOptions{});
  Hub::current().start(st);
  return Task<R>(std::move(st));
}

namespace detail {
/// Remaining time of an overall deadline, for joining several tasks in turn.
std::optional<Duration> remaining(std::optional<Clock::time_point> until);
std::optional<Clock::time_point> deadline_after(std::optional<Duration> timeout);
}  // namespace detail

/// Waits for every task in `tasks` (a range of Task handles); true when all finished
/// within `timeout`. Never rethrows the tasks' exceptions.
template <class Range>
  requires std::ranges::range<Range>
bool joinall(Range&& tasks, std::optional<Duration> timeout = {}) {
  const auto until = detail::deadline_after(timeout);
  for (auto& t : tasks) {
    if (!t.join(detail::remaining(until))) return false;
  }
  return true;
}

/// Waits for every task given; true when all finished.
template <class... T>
bool joinall(Task<T>&... tasks) {
  return (tasks.join() && ...);
}

template <class T>
bool joinall(std::initializer_list<Task<T>> tasks, std::optional<Duration> timeout = {}) {
  const auto until = detail::deadline_after(timeout);
  for (auto t : tasks) {
    if (!t.join(detail::remaining(until))) return false;
  }
  return true;
}

}  // namespace braid
