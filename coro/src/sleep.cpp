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
  s->hub->schedule(*s->fiber);
}

void cancel_sleep(void* p) noexcept {
  auto* s = static_cast<Sleeper*>(p);
  s->hub->remove_timer(s->node);
  s->hub->schedule(*s->fiber);
}

}  // namespace

void sleep(Duration d) {
  if (d <= Duration::zero()) {
    yield_now();
    return;
  }
  Hub& hub = Hub::current();
  Sleeper s{&hub, &hub.running(), {}};
  s.node.deadline = detail::Clock::now() + d;
  s.node.fire = &wake_sleeper;
  s.node.arg = &s;
  hub.check_can_block(detail::WaitInfo{"sleep"});
  hub.add_timer(s.node);
  // Every way out of park() has taken the node off the heap: it fired, or cancel_sleep
  // removed it (kill, timeout). LoopExit cannot happen while the timer is armed.
  hub.park(detail::WaitInfo{"sleep"}, &cancel_sleep, &s);
}

void yield_now() { Hub::current().yield(); }

namespace detail {
void sleep_for(Duration d) { braid::sleep(d); }
}  // namespace detail

}  // namespace braid
