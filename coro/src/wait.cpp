#include <braid/coro/wait.hpp>

#include <boost/context/fiber.hpp>

namespace braid {

const Waitable::Ops Waitable::kEventOps{
    [](const void* e) { return static_cast<const Event*>(e)->is_set(); },
    [](void* e) { static_cast<Event*>(e)->wait(); }};

bool Waitable::ready() const { return task_ ? task_->finished() : ops_->ready(obj_); }

namespace detail {

WaitSet::WaitSet(std::vector<Waitable> objects, std::optional<Duration> timeout,
                 std::optional<std::size_t> count)
    : objects_(std::move(objects)),
      timeout_(timeout),
      left_(count ? std::min(*count, objects_.size()) : objects_.size()) {}

WaitSet::~WaitSet() { finish(); }

// Ready objects are queued now, in input order; tasks get a completion hook; anything
// else gets a helper coroutine parked in the object's own wait.
void WaitSet::begin() {
  begun_ = true;
  detail::Scheduling::check_can_block(Hub::current(), WaitInfo{"wait/iwait"});
  until_ = CallDeadline(timeout_);
  if (left_ == 0) return;
  const std::size_t n = objects_.size();
  queued_.assign(n, false);
  hooks_ = std::make_unique<TaskHook[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Waitable& w = objects_[i];
    if (w.ready()) {
      mark_ready(i);
    } else if (w.task()) {
      TaskHook& h = hooks_[i];
      h.fire = &WaitSet::task_done;
      h.set = this;
      h.index = i;
      w.task()->add_done_link(h);
    } else {
      auto helper = make_task(SpawnOptions{"wait-helper"}, [this, i] {
        try {
          objects_[i].block();
        } catch (const GreenletExit&) {
          throw;  // reaped: the wait is over
        } catch (...) {
          // The object's wait failed (a queue shut down...): waiting on it would not
          // block now, so report it ready, as gevent reports a link that fired.
        }
        mark_ready(i);
      });
      helpers_.push_back(helper.state_ptr());
      helper.start();
    }
  }
}

void WaitSet::task_done(DoneLink* l, TaskBase*) noexcept {
  auto* h = static_cast<TaskHook*>(l);
  h->set->mark_ready(h->index);
}

void WaitSet::mark_ready(std::size_t i) noexcept {
  if (finished_ || queued_[i]) return;
  queued_[i] = true;
  ready_.push_back(i);
  caller_.notify_one();
}

std::optional<std::size_t> WaitSet::next() {
  if (finished_) return std::nullopt;
  std::exception_ptr failure;
  std::optional<std::size_t> out;
  try {
    if (!begun_) begin();
    Hub& hub = Hub::current();
    bool parked = false;
    while (left_ > 0 && ready_.empty()) {
      parked = true;
      const WaitInfo info{"wait/iwait"};
      if (!caller_.wait(until_.remaining(), info) && ready_.empty()) break;  // timed out
    }
    if (left_ > 0 && !ready_.empty()) {
      // A result without parking: let the rest of the hub run now and then.
      if (!parked) {
        detail::Scheduling::check_interrupt(hub);
        hub.cooperate();
      }
      out = ready_.front();
      ready_.pop_front();
      --left_;
    }
  } catch (const boost::context::detail::forced_unwind&) {
    throw;
  } catch (...) {
    failure = std::current_exception();
  }
  // Clean up outside the handler: reaping helpers parks.
  if (failure || !out || left_ == 0) finish();
  if (failure) std::rethrow_exception(failure);
  if (!out) detail::Scheduling::check_interrupt(Hub::current());  // one that arrived while reaping
  return out;
}

void WaitSet::finish() noexcept {
  if (finished_) return;
  finished_ = true;
  if (hooks_) {
    for (std::size_t i = 0; i < objects_.size(); ++i) {
      if (TaskBase* t = hooks_[i].task) t->remove_done_link(hooks_[i]);
    }
  }
  reap_helpers();
}

// Kills the helpers and waits until each has ended, so none touches its object (or this
// set) after the wait returns: a helper woken by its object but not yet run would. A kill
// or timeout aimed at the caller meanwhile is held back and re-armed, to be delivered
// at its next switch point (next() checks at once).
void WaitSet::reap_helpers() noexcept {
  if (helpers_.empty()) return;
  Hub& hub = Hub::current();
  for (auto& h : helpers_) h->kill(false);
  FiberRecord& self = detail::Scheduling::running(hub);
  Interrupt held = Interrupt::none;
  const void* source = nullptr;
  std::chrono::nanoseconds length{};
  for (auto& h : helpers_) {
    while (!h->finished()) {
      try {
        h->join(std::nullopt);
      } catch (const GreenletExit&) {
        held = Interrupt::kill;
      } catch (const TimeoutError&) {
        if (held == Interrupt::none) {
          held = Interrupt::timeout;
          source = self.timeout_source;
          length = self.timeout_length;
        }
      } catch (...) {
        break;  // LoopExit cannot happen (killed helpers are runnable); stop regardless
      }
    }
  }
  helpers_.clear();
  if (held != Interrupt::none) detail::Scheduling::interrupt(hub, self, held, source, length);
}

}  // namespace detail
}  // namespace braid
