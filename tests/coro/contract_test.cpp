// Every parking primitive honours the same contract: a timeout returns false no earlier
// than asked, an enclosing Timeout is not swallowed, and kill() while parked unwinds.
#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

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
  bool wait(std::optional<braid::Duration> t) {
    try {
      q.get(t);
      return true;
    } catch (const braid::QueueEmpty&) {
      return false;
    }
  }
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

TEMPLATE_TEST_CASE("parking primitives honour timeouts and kill", "[coro][contract]",
                   EventWaiter, SemaphoreWaiter, LockWaiter, QueueGetter, QueuePutter,
                   TaskJoiner, AsyncResultWaiter) {
  TestType prim;
  SECTION("false, no earlier than the timeout") {
    bool result = true;
    const auto took = braid::test::time_of([&] { result = prim.wait(30ms); });
    REQUIRE_FALSE(result);
    REQUIRE(took >= 30ms);
    REQUIRE(took < 30ms + braid::test::kSchedulingSlack);
  }
  SECTION("an enclosing Timeout is not swallowed") {
    braid::Timeout limit(20ms);
    try {
      prim.wait(10s);
      FAIL("returned");
    } catch (const braid::TimeoutError& e) {
      REQUIRE(e.fired_by(limit));
    }
  }
  SECTION("kill() while parked unwinds") {
    braid::Event parked;
    bool returned = false;
    auto t = braid::spawn([&] {
      parked.set();
      prim.wait(std::nullopt);
      returned = true;
    });
    REQUIRE(parked.wait(5s));
    braid::yield_now();
    t.kill();
    REQUIRE(t.ready());
    REQUIRE_FALSE(returned);
    REQUIRE_THROWS_AS(std::rethrow_exception(t.exception()), braid::GreenletExit);
  }
}
