#include <braid/coro/timeout.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;

TEST_CASE("Timeout interrupts a blocking call, no earlier than its deadline",
          "[coro][timeout]") {
  const auto took = braid::test::time_of([] {
    braid::Timeout limit(50ms);
    try {
      braid::sleep(1h);
      FAIL("not interrupted");
    } catch (const braid::TimeoutError& e) {
      REQUIRE(e.fired_by(limit));
      REQUIRE(limit.expired());
      REQUIRE_THAT(e.what(), Catch::Contains("50ms"));
    }
  });
  REQUIRE(took >= 50ms);
  REQUIRE(took < 50ms + braid::test::kSchedulingSlack);
}

TEST_CASE("nested Timeouts: the earliest fires and names its own scope", "[coro][timeout]") {
  braid::Timeout outer(40ms);
  bool inner_saw_foreign = false;
  try {
    braid::Timeout inner(10s);
    try {
      braid::sleep(1h);
    } catch (const braid::TimeoutError& e) {
      inner_saw_foreign = !e.fired_by(inner) && e.fired_by(outer);
      if (!e.fired_by(inner)) throw;  // not ours: let it through
    }
    FAIL("outer timeout was swallowed");
  } catch (const braid::TimeoutError& e) {
    REQUIRE(e.fired_by(outer));
  }
  REQUIRE(inner_saw_foreign);
}

TEST_CASE("the inner Timeout wins when it is earlier", "[coro][timeout]") {
  braid::Timeout outer(10s);
  braid::Timeout inner(20ms);
  try {
    braid::sleep(1h);
  } catch (const braid::TimeoutError& e) {
    REQUIRE(e.fired_by(inner));
    REQUIRE_FALSE(outer.expired());
  }
}

TEST_CASE("a cancelled or finished Timeout never fires later", "[coro][timeout]") {
  {
    braid::Timeout limit(10ms);
    limit.cancel();
    braid::sleep(30ms);  // would have been interrupted
    REQUIRE_FALSE(limit.expired());
  }
  { braid::Timeout scoped(10ms); }
  braid::sleep(30ms);  // the scope ended: nothing pending
}

TEST_CASE("a Timeout that expires while the coroutine runs hits its next blocking call",
          "[coro][timeout]") {
  braid::Timeout limit(10ms);
  const auto until = std::chrono::steady_clock::now() + 30ms;
  while (std::chrono::steady_clock::now() < until) {
  }  // busy: the timer cannot fire until we switch
  REQUIRE_THROWS_AS(braid::sleep(1h), braid::TimeoutError);
}

TEST_CASE("a Timeout belongs to the coroutine that created it", "[coro][timeout]") {
  auto other = braid::spawn([] {
    braid::sleep(60ms);
    return true;
  });
  {
    braid::Timeout limit(20ms);
    REQUIRE_THROWS_AS(braid::sleep(1h), braid::TimeoutError);
  }
  REQUIRE(other.get());  // untouched by main's timeout
}

TEST_CASE("with_timeout returns the value or throws TimeoutError", "[coro][timeout]") {
  REQUIRE(braid::with_timeout(1s, [] { return 5; }) == 5);
  REQUIRE_THROWS_AS(braid::with_timeout(10ms, [] { braid::sleep(1h); }), braid::TimeoutError);
}

TEST_CASE("a Timeout in a coroutine interrupts join on another task", "[coro][timeout]") {
  auto slow = braid::spawn([] { braid::sleep(1h); });
  auto waiter = braid::spawn([&] {
    braid::Timeout limit(20ms);
    slow.join();
  });
  REQUIRE_THROWS_AS(waiter.get(), braid::TimeoutError);
  REQUIRE_FALSE(slow.ready());
  slow.kill();
}
