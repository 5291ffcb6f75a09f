#include <braid/coro/task.hpp>

#include <braid/runtime/log.hpp>

#include <fmt/format.h>
#include <boost/context/fiber.hpp>

#include <algorithm>
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

[[noreturn]] void throw_get_timeout(const TaskBase& t, Duration timeout) {
  throw TimeoutError(fmt::format("Task.get: task '{}' (id {}) still running after {}",
                                 t.display_name(), t.id, format_duration(timeout)));
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
    if (kill_error) {  // kill(exception): the task ends with that, as gevent's throw() would
      error = kill_error;
    } else {
      killed = true;
      error = std::current_exception();
    }
  } catch (...) {
    error = std::current_exception();
  }
  drop_callable();
}

void TaskBase::on_finished() noexcept { notify_done(); }

void TaskBase::on_killed_before_start() noexcept {
  if (kill_error) {
    error = kill_error;
  } else {
    killed = true;
    error = std::make_exception_ptr(GreenletExit{});
  }
  drop_callable();
  notify_done();
}

// Joiners first, then the group, then wait()/iwait(), then link() callbacks (which
// start in coroutines of their own, as gevent's links run from the hub after the end).
void TaskBase::notify_done() noexcept {
  joiners.notify_all();
  if (done_hook != nullptr) done_hook(done_hook_arg, this);
  while (DoneLink* l = done_head_) {
    remove_done_link(*l);
    l->fire(l, this);
  }
  // Copy the ids: a runner that starts later may find its link unlinked meanwhile.
  std::vector<std::uint64_t> ids;
  if (links_) {
    ids.reserve(links_->pending.size());
    for (const auto& l : links_->pending) ids.push_back(l.id);
  }
  for (std::uint64_t id : ids) spawn_link_runner(id);
}

void TaskBase::add_done_link(DoneLink& l) noexcept {
  l.task = this;
  l.next = nullptr;
  l.prev = done_tail_;
  if (done_tail_ != nullptr) {
    done_tail_->next = &l;
  } else {
    done_head_ = &l;
  }
  done_tail_ = &l;
}

void TaskBase::remove_done_link(DoneLink& l) noexcept {
  if (l.task != this) return;
  if (l.prev != nullptr) {
    l.prev->next = l.next;
  } else {
    done_head_ = l.next;
  }
  if (l.next != nullptr) {
    l.next->prev = l.prev;
  } else {
    done_tail_ = l.prev;
  }
  l.prev = l.next = nullptr;
  l.task = nullptr;
}

std::uint64_t TaskBase::add_link(LinkKind kind, LinkFn fn, const std::shared_ptr<TaskBase>& self) {
  if (!links_) links_ = std::make_unique<Links>();
  if (links_->self.expired()) links_->self = self;
  const std::uint64_t id = links_->next_id++;
  links_->pending.push_back(UserLink{id, kind, std::move(fn)});
  if (finished()) spawn_link_runner(id);  // gevent: a link added after the end still fires
  return id;
}

std::optional<TaskBase::UserLink> TaskBase::take_link(std::uint64_t id) noexcept {
  if (!links_) return std::nullopt;
  auto& pending = links_->pending;
  auto it =
      std::find_if(pending.begin(), pending.end(), [id](const UserLink& l) { return l.id == id; });
  if (it == pending.end()) return std::nullopt;
  std::optional<UserLink> link(std::move(*it));
  pending.erase(it);
  return link;
}

bool TaskBase::remove_link(std::uint64_t id) noexcept { return take_link(id).has_value(); }

void TaskBase::spawn_link_runner(std::uint64_t id) noexcept {
  try {
    std::shared_ptr<TaskBase> self = links_->self.lock();  // a caller or the hub owns it now
    if (!self) throw std::logic_error("the task is no longer owned");
    auto runner =
        make_task(SpawnOptions{display_name() + ".link"}, [self, id] { run_link(self, id); });
    runner.start();
  } catch (const std::exception& e) {  // bad_alloc
    log().error("task '{}' (id {}): could not start a link callback: {}", display_name(), id,
                e.what());
  }
}

// Runs in the link's own coroutine. The link is taken out first, so it runs once, and a
// link an earlier callback unlinked is skipped (gevent pops links one at a time).
void TaskBase::run_link(const std::shared_ptr<TaskBase>& self, std::uint64_t id) {
  std::optional<UserLink> taken = self->take_link(id);
  if (!taken) return;
  UserLink& link = *taken;
  const bool failed = self->error != nullptr;
  if ((link.kind == LinkKind::value && failed) || (link.kind == LinkKind::exception && !failed)) {
    return;
  }
  try {
    link.fn(self);
  } catch (const GreenletExit&) {
    throw;  // the callback's coroutine was killed: let it end as killed
  } catch (const std::exception& e) {
    log().error("link callback of task '{}' (id {}) raised: {}", self->display_name(), self->id,
                e.what());
  } catch (...) {
    log().error("link callback of task '{}' (id {}) raised a non-std exception",
                self->display_name(), self->id);
  }
}

bool TaskBase::join(std::optional<Duration> timeout) {
  error_observed = true;
  if (finished()) return true;
  Hub& hub = Hub::current();
  if (&detail::Scheduling::running(hub) == this) {
    throw std::logic_error(fmt::format("task '{}' cannot wait for itself", display_name()));
  }
  // notify_all wakes joiners only once the task is done.
  return joiners.wait(timeout, WaitInfo{"Task.join", static_cast<long>(id)}) || finished();
}

void TaskBase::kill(bool block, std::exception_ptr exception) {
  if (finished()) return;
  kill_error = std::move(exception);
  if (!scheduled) {  // made by make_task and never started: it never will (gevent)
    scheduled = true;
    state = FiberState::done;
    on_killed_before_start();
    return;
  }
  Hub& hub = Hub::current();
  if (&detail::Scheduling::running(hub) == this)
    throw GreenletExit{};  // a task killing itself unwinds now
  if (state == FiberState::created) {
    detail::Scheduling::cancel_unstarted(hub, *this);
    return;
  }
  detail::Scheduling::interrupt(hub, *this, Interrupt::kill);
  if (block) join(std::nullopt);
}

void TaskBase::start(Duration delay, std::shared_ptr<TaskBase> self) {
  if (scheduled || finished()) return;
  scheduled = true;
  delay_ = delay;
  detail::Scheduling::start(Hub::current(), std::move(self));
}

void killall(std::vector<std::shared_ptr<TaskBase>> tasks, std::exception_ptr exception, bool block,
             std::optional<Duration> timeout) {
  Hub& hub = Hub::current();
  bool self_listed = false;
  for (auto& t : tasks) {
    if (t.get() == &detail::Scheduling::running(hub)) {
      self_listed = true;
    } else {
      t->kill(false, exception);
    }
  }
  if (block) {
    const CallDeadline until(timeout);
    bool in_time = true;
    std::size_t alive = 0;
    for (auto& t : tasks) {
      if (t.get() == &detail::Scheduling::running(hub)) continue;
      if (in_time) in_time = t->join(until.remaining());
      if (!t->finished()) ++alive;
    }
    if (alive > 0) {
      throw TimeoutError(fmt::format("killall: {} of {} task(s) still alive after {}", alive,
                                     tasks.size(), format_duration(*timeout)));
    }
  }
  if (self_listed) {
    auto& self = static_cast<TaskBase&>(detail::Scheduling::running(hub));
    self.kill_error = std::move(exception);
    throw GreenletExit{};
  }
}

}  // namespace braid::detail
