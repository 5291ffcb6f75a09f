#include <braid/coro/sleep.hpp>

#include <braid/coro/task.hpp>
#include <braid/runtime/detail/timer_heap.hpp>

namespace braid {
namespace {

struct Sleeper {
  Hub* hub;
  detail::FiberRecord* fiber;
  detail::TimerNode node;
};

void wake_sleeper(void* p) noexcept {
  auto* s = static_cast<Sleeper*>(p);
  detail::Scheduling::schedule(*s->hub, *s->fiber);
}

void cancel_sleep(void* p) noexcept {
  auto* s = static_cast<Sleeper*>(p);
  detail::Scheduling::remove_timer(*s->hub, s->node);
  detail::Scheduling::schedule(*s->hub, *s->fiber);
}

}  // namespace

void sleep(Duration d) {
  if (d <= Duration::zero()) {
    yield_now();
    return;
  }
  Hub& hub = Hub::current();
  Sleeper s{&hub, &detail::Scheduling::running(hub), {}};
  s.node.deadline = detail::Clock::now() + d;
  s.node.fire = &wake_sleeper;
  s.node.arg = &s;
  detail::Scheduling::check_can_block(hub, detail::WaitInfo{"sleep"});
  detail::Scheduling::add_timer(hub, s.node);
  // Every way out of park() has taken the node off the heap: it fired, or cancel_sleep
  // removed it (kill, timeout). LoopExit cannot happen while the timer is armed.
  detail::Scheduling::park(hub, detail::WaitInfo{"sleep"}, &cancel_sleep, &s);
}

void yield_now() { detail::Scheduling::yield(Hub::current()); }

namespace detail {
void sleep_for(Duration d) { braid::sleep(d); }
}  // namespace detail

}  // namespace braid
