#include <braid/coro/timeout.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;

TEST_CASE("Timeout interrupts a blocking call, no earlier than its deadline", "[coro][timeout]") {
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

TEST_CASE("with_timeout with a default value returns it on its own expiry", "[coro][timeout]") {
  CHECK(braid::with_timeout(
            1s, [] { return 5; }, -1) == 5);
  const auto took = braid::test::time_of([] {
    CHECK(braid::with_timeout(
              20ms,
              [] {
                braid::sleep(1h);
                return std::string("late");
              },
              "default") == "default");
  });
  CHECK(took >= 20ms);
  CHECK(took < 20ms + braid::test::kSchedulingSlack);
  braid::sleep(30ms);  // nothing of it is left pending
}

TEST_CASE("with_timeout with a default value lets other timeouts through", "[coro][timeout]") {
  braid::Timeout outer(20ms);
  try {
    braid::with_timeout(
        10s,
        [] {
          braid::sleep(1h);
          return 1;
        },
        -1);
    FAIL("the outer timeout was swallowed");
  } catch (const braid::TimeoutError& e) {
    CHECK(e.fired_by(outer));
  }
  // An error that is not a timeout passes too.
  CHECK_THROWS_AS(braid::with_timeout(
                      1s, []() -> int { throw std::runtime_error("boom"); }, 0),
                  std::runtime_error);
}

TEST_CASE("an unstarted Timeout never fires until started", "[coro][timeout]") {
  braid::Timeout limit(10ms, braid::Timeout::unstarted);
  CHECK_FALSE(limit.pending());
  CHECK(limit.length() == 10ms);
  braid::sleep(30ms);  // would have been interrupted
  CHECK_FALSE(limit.expired());
  limit.cancel();  // harmless when not armed
  limit.start();
  CHECK(limit.pending());
  CHECK_THROWS_AS(braid::sleep(1h), braid::TimeoutError);
  CHECK(limit.expired());
  CHECK_FALSE(limit.pending());
}

TEST_CASE("a restarted Timeout fires once, at the new deadline", "[coro][timeout]") {
  braid::Timeout limit(30ms);
  CHECK(limit.pending());
  CHECK_THROWS_AS(limit.start(), std::logic_error);  // pending: cancel first
  braid::sleep(10ms);
  limit.cancel();
  CHECK_FALSE(limit.pending());
  braid::sleep(40ms);  // past the first deadline: cancelled, nothing fires
  CHECK_FALSE(limit.expired());

  const auto started = std::chrono::steady_clock::now();
  limit.start();
  int fired = 0;
  try {
    braid::sleep(1h);
  } catch (const braid::TimeoutError& e) {
    CHECK(e.fired_by(limit));
    ++fired;
  }
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(fired == 1);
  CHECK(took >= 30ms);
  CHECK(took < 30ms + braid::test::kSchedulingSlack);
  CHECK(limit.expired());
  braid::sleep(40ms);  // it does not fire a second time

  // Expired: start() arms it again without a cancel.
  limit.start();
  CHECK_FALSE(limit.expired());
  CHECK_THROWS_AS(braid::sleep(1h), braid::TimeoutError);
}

TEST_CASE("restarting withdraws a timeout raised but not yet delivered", "[coro][timeout]") {
  braid::Event wake;
  braid::Timeout limit(30ms, braid::Timeout::unstarted);
  bool fired_while_ready = false;
  int fired = 0;
  std::chrono::steady_clock::duration took{};
  auto task = braid::spawn([&] {
    limit.start();
    wake.wait();
    // The timer ran while we were ready to run: the error waits for our next park.
    fired_while_ready = limit.expired();
    const auto restarted = std::chrono::steady_clock::now();
    limit.start();  // withdraws that error and arms again
    try {
      braid::sleep(1h);
    } catch (const braid::TimeoutError& e) {
      if (e.fired_by(limit)) ++fired;
    }
    took = std::chrono::steady_clock::now() - restarted;
  });
  braid::yield_now();  // the task arms the Timeout and parks on the event
  // A hub timer due before the Timeout's sets the event: when both are overdue, the task
  // is made ready, then the Timeout fires at it before it runs.
  braid::detail::TimerNode waker;
  waker.deadline = std::chrono::steady_clock::now();
  waker.fire = [](void* ev) { static_cast<braid::Event*>(ev)->set(); };
  waker.arg = &wake;
  braid::detail::Scheduling::add_timer(braid::Hub::current(), waker);
  const auto until = std::chrono::steady_clock::now() + 50ms;
  while (std::chrono::steady_clock::now() < until) {
  }  // busy: both deadlines pass, but no timer runs until we switch
  task.get();
  CHECK(fired_while_ready);
  CHECK(fired == 1);
  CHECK(took >= 30ms);  // the new deadline, not the withdrawn one
  CHECK(took < 30ms + braid::test::kSchedulingSlack);
}

TEST_CASE("start() arms the Timeout for the coroutine that calls it", "[coro][timeout]") {
  braid::Timeout limit(20ms, braid::Timeout::unstarted);
  auto other = braid::spawn([&] {
    limit.start();
    braid::sleep(1h);
  });
  CHECK_THROWS_AS(other.get(), braid::TimeoutError);
  braid::sleep(10ms);  // main is untouched
}

TEST_CASE("a Timeout may outlive the coroutine that armed it", "[coro][timeout]") {
  // Fires after that coroutine finished (and its Task handle is gone): nothing happens.
  braid::Timeout late(10ms, braid::Timeout::unstarted);
  braid::spawn([&] { late.start(); }).join();
  CHECK(late.pending());
  braid::sleep(40ms);  // main is not the owner: not interrupted
  CHECK(late.expired());

  // Fired at its owner, then destroyed after the owner's Task handle.
  braid::Timeout fired(10ms, braid::Timeout::unstarted);
  {
    auto owner = braid::spawn([&] {
      fired.start();
      braid::sleep(1h);
    });
    CHECK_THROWS_AS(owner.get(), braid::TimeoutError);
  }
  CHECK(fired.expired());
  fired.start();  // restarted by main now
  CHECK_THROWS_AS(braid::sleep(1h), braid::TimeoutError);
}
