// detail::CallDeadline, the one per-call deadline of every module: a call that waits in
// several steps gives each the time left.
#include <braid/runtime/detail/deadline.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using braid::detail::CallDeadline;
using braid::detail::Clock;

TEST_CASE("a CallDeadline without a timeout never passes", "[runtime][deadline]") {
  for (const CallDeadline& d : {CallDeadline(), CallDeadline(std::nullopt)}) {
    CHECK_FALSE(d.remaining().has_value());
    CHECK_FALSE(d.passed());
    CHECK_FALSE(d.limit().has_value());
    CHECK_FALSE(d.expiry().has_value());
    CHECK(d.slice(5ms) == braid::Duration(5ms));
  }
}

TEST_CASE("a CallDeadline counts down from its construction and stops at zero",
          "[runtime][deadline]") {
  const CallDeadline d(30ms);
  REQUIRE(d.limit() == braid::Duration(30ms));
  REQUIRE(d.remaining().has_value());
  CHECK(*d.remaining() <= 30ms);
  CHECK(d.slice(1ms) == braid::Duration(1ms));  // capped
  braid::sleep(40ms);
  CHECK(d.passed());
  CHECK(d.remaining() == braid::Duration::zero());  // never negative
  CHECK(d.slice(1s) == braid::Duration::zero());
  CHECK(d.limit() == braid::Duration(30ms));  // still what the call was given

  CHECK(CallDeadline(0s).passed());
  CHECK(CallDeadline::at(Clock::now() - 1s).passed());
  CHECK_FALSE(CallDeadline::at(Clock::now() + 1h).passed());
  CHECK_FALSE(CallDeadline::at(Clock::now()).limit().has_value());
}

TEST_CASE("waits given remaining() keep a call to its overall deadline", "[runtime][deadline]") {
  braid::Event never;
  const auto took = braid::test::time_of([&] {
    const CallDeadline d(60ms);
    int steps = 0;
    // Three steps of up to 30 ms each: the third gets what is left, if anything.
    for (int i = 0; i < 3; ++i) {
      if (d.passed()) break;
      CHECK_FALSE(never.wait(std::min<braid::Duration>(*d.remaining(), 30ms)));
      ++steps;
    }
    CHECK(steps >= 2);
  });
  CHECK(took >= 60ms);
  CHECK(took < 60ms + braid::test::kSchedulingSlack);
}

TEST_CASE("a CallDeadline and an enclosing Timeout: the earlier one ends the wait",
          "[runtime][deadline]") {
  braid::Event never;
  SECTION("the Timeout is earlier: it throws, fired by the scope") {
    braid::Timeout t(10ms);
    const CallDeadline d(5s);
    try {
      (void)never.wait(d.remaining());
      FAIL("no timeout");
    } catch (const braid::TimeoutError& e) {
      CHECK(e.fired_by(t));
    }
    CHECK_FALSE(d.passed());
  }
  SECTION("the call's deadline is earlier: the wait just returns false") {
    braid::Timeout t(5s);
    const CallDeadline d(10ms);
    CHECK_FALSE(never.wait(d.remaining()));
    CHECK(d.passed());
    t.cancel();
  }
}
