// Every coro parking primitive honours the same contract (parking_contract.hpp): a
// timeout returns false no earlier than asked, an enclosing Timeout is not swallowed,
// kill() while parked unwinds, and the wait is timed by braid's clock.
#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "parking_contract.hpp"

using namespace std::chrono_literals;

namespace {
struct EventWaiter {
  braid::Event ev;
  bool wait(std::optional<braid::Duration> t) { return ev.wait(t); }
};
struct SemaphoreWaiter {
  braid::Semaphore sem{0};
  bool wait(std::optional<braid::Duration> t) { return sem.acquire(t); }
};
struct LockWaiter {
  braid::Lock lock;
  LockWaiter() { lock.lock(); }
  bool wait(std::optional<braid::Duration> t) { return lock.acquire(t); }
};
struct QueueGetter {
  braid::Queue<int> q;
  bool wait(std::optional<braid::Duration> t) { return braid::test::got_item(q, t); }
};
struct QueuePutter {
  braid::Queue<int> q{1};
  QueuePutter() { q.put(0); }
  bool wait(std::optional<braid::Duration> t) {
    try {
      q.put(1, t);
      return true;
    } catch (const braid::QueueFull&) {
      return false;
    }
  }
};
struct TaskJoiner {
  braid::Task<void> t = braid::spawn([] { braid::sleep(1h); });
  ~TaskJoiner() { t.kill(); }
  bool wait(std::optional<braid::Duration> timeout) { return t.join(timeout); }
};
struct AsyncResultWaiter {
  braid::AsyncResult<int> r;
  bool wait(std::optional<braid::Duration> t) { return r.wait(t); }
};
}  // namespace

TEMPLATE_TEST_CASE("parking primitives honour timeouts and kill", "[coro][contract]", EventWaiter,
                   SemaphoreWaiter, LockWaiter, QueueGetter, QueuePutter, TaskJoiner,
                   AsyncResultWaiter) {
  braid::test::check_parking_contract<TestType>();
}
