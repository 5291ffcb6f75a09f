#include <braid/coro/task.hpp>

#include <braid/runtime/log.hpp>

#include <boost/context/fiber.hpp>
#include <fmt/format.h>

#include <atomic>
#include <stdexcept>

namespace braid::detail {
namespace {
std::atomic<std::uint64_t> g_next_task_id{1};

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "a non-std exception";
  }
}
}  // namespace

void prepare_task(TaskBase& t, SpawnOptions&& opts) {
  t.id = g_next_task_id.fetch_add(1, std::memory_order_relaxed);
  t.name = std::move(opts.name);  // empty: display_name() makes "Task-<id>" when asked
  t.stack_size = opts.stack_size;
}

[[noreturn]] void throw_invalid_task() {
  throw std::logic_error("braid::Task: empty handle (default-constructed)");
}

TaskBase::~TaskBase() {
  // asyncio's "exception was never retrieved": nobody joined it, so say it here.
  if (error && !killed && !error_observed) {
    log().error("task '{}' (id {}) died with an exception nobody joined: {}", display_name(), id,
                describe(error));
  }
}

void TaskBase::run_body() {
  try {
    invoke();
  } catch (const boost::context::detail::forced_unwind&) {
    drop_callable();
    throw;
  } catch (const GreenletExit&) {
    killed = true;
    error = std::current_exception();
  } catch (...) {
    error = std::current_exception();
  }
  drop_callable();
}

void TaskBase::on_finished() noexcept {
  joiners.notify_all();
  if (done_hook != nullptr) done_hook(done_hook_arg, this);
}

void TaskBase::on_killed_before_start() noexcept {
  killed = true;
  error = std::make_exception_ptr(GreenletExit{});
  drop_callable();
  joiners.notify_all();
  if (done_hook != nullptr) done_hook(done_hook_arg, this);
}

bool TaskBase::join(std::optional<Duration> timeout) {
  error_observed = true;
  if (finished()) return true;
  Hub& hub = Hub::current();
  if (&hub.running() == this) {
    throw std::logic_error(fmt::format("task '{}' cannot wait for itself", display_name()));
  }
  // notify_all wakes joiners only once the task is done.
  return joiners.wait(timeout, WaitInfo{"Task.join", static_cast<long>(id)}) || finished();
}

void TaskBase::kill(bool block) {
  if (finished()) return;
  Hub& hub = Hub::current();
  if (&hub.running() == this) throw GreenletExit{};  // a task killing itself unwinds now
  if (state == FiberState::created) {
    hub.cancel_unstarted(*this);
    return;
  }
  hub.interrupt(*this, Interrupt::kill);
  if (block) join(std::nullopt);
}

std::optional<Duration> remaining(std::optional<Clock::time_point> until) {
  if (!until) return std::nullopt;
  return std::max(Duration::zero(), *until - Clock::now());
}

std::optional<Clock::time_point> deadline_after(std::optional<Duration> timeout) {
  if (!timeout) return std::nullopt;
  return Clock::now() + *timeout;
}

}  // namespace braid::detail
