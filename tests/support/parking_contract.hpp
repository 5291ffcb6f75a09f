// The contract every parking primitive honours, as Catch2 sections to run from a
// TEMPLATE_TEST_CASE (tests/coro, tests/process and tests/net each list their waits):
// a timeout returns false no earlier than asked, an enclosing Timeout is not swallowed,
// kill() while parked unwinds, and the wait is timed by braid's clock (a paused clock
// ends it at once). `Prim` is default-constructible and has
// `bool wait(std::optional<braid::Duration>)`: true when the awaited thing happened,
// false when the call's own timeout passed; anything else propagates.
#pragma once

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace braid::test {

/// A queue's get(timeout) as a contract wait: true when an item came, false on QueueEmpty.
template <class Queue>
bool got_item(Queue& q, std::optional<braid::Duration> t) {
  try {
    q.get(t);
    return true;
  } catch (const braid::QueueEmpty&) {
    return false;
  }
}

template <class Prim>
void check_parking_contract() {
  Prim prim;
  SECTION("false, no earlier than the timeout") {
    bool result = true;
    const auto took = time_of([&] { result = prim.wait(30ms); });
    REQUIRE_FALSE(result);
    REQUIRE(took >= 30ms);
    REQUIRE(took < 30ms + kSchedulingSlack);
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
  SECTION("timed by braid's clock: under paused time the timeout passes at once") {
    PausedClock clock;
    const auto t0 = clock.now();
    bool result = true;
    const auto took = time_of([&] { result = prim.wait(5s); });
    REQUIRE_FALSE(result);
    REQUIRE(clock.now() - t0 >= 5s);
    REQUIRE(took < 5s);  // a real-time wait would take all of it
  }
}

}  // namespace braid::test
