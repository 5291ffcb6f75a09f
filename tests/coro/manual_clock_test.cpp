// braid::testing::ManualClock: paused time, advance(), auto-advance, and its errors.
#include <braid/runtime/testing/manual_clock.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/wait.hpp>
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace std::chrono_literals;
using braid::Duration;
using braid::detail::Clock;
using braid::testing::ManualClock;

TEST_CASE("ManualClock: time stands still until advanced", "[coro][manual_clock]") {
  ManualClock clock;
  const auto t0 = Clock::now();
  REQUIRE(t0 == clock.now());
  std::this_thread::sleep_for(5ms);  // real time passes; the clock's does not
  REQUIRE(Clock::now() == t0);
  clock.advance(3s);
  REQUIRE(Clock::now() - t0 == 3s);
}

TEST_CASE("ManualClock: advance fires timers in deadline order, each at its own time",
          "[coro][manual_clock]") {
  ManualClock clock;
  const auto t0 = Clock::now();
  std::vector<std::pair<int, Duration>> woke;  // (which, clock time when it woke)
  std::vector<braid::Task<void>> tasks;
  for (int s : {30, 10, 20}) {
    tasks.push_back(braid::spawn([&, s] {
      braid::sleep(std::chrono::seconds(s));
      woke.emplace_back(s, Clock::now() - t0);
    }));
  }
  braid::yield_now();  // each is parked in its sleep now
  clock.advance(15s);
  REQUIRE(woke == std::vector<std::pair<int, Duration>>{{10, 10s}});
  clock.advance(15s);
  REQUIRE(woke == std::vector<std::pair<int, Duration>>{{10, 10s}, {20, 20s}, {30, 30s}});
  REQUIRE(Clock::now() - t0 == 30s);
  braid::joinall(tasks);
}

TEST_CASE("ManualClock: a coroutine woken by advance can sleep again within the same advance",
          "[coro][manual_clock]") {
  ManualClock clock;
  const auto t0 = Clock::now();
  std::vector<Duration> ticks;
  auto t = braid::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      braid::sleep(1min);
      ticks.push_back(Clock::now() - t0);
    }
  });
  clock.advance(3min + 30s);
  REQUIRE(ticks == std::vector<Duration>{1min, 2min, 3min});
  clock.advance(2min);
  REQUIRE(ticks.size() == 5);
  REQUIRE(t.ready());
}

TEST_CASE("ManualClock: advance from inside a coroutine", "[coro][manual_clock]") {
  ManualClock clock;
  bool slept = false;
  auto sleeper = braid::spawn([&] {
    braid::sleep(1h);
    slept = true;
  });
  auto driver = braid::spawn([&] { clock.advance(1h); });
  driver.join();
  REQUIRE(slept);
  sleeper.join();
}

TEST_CASE("ManualClock: auto-advance completes sleep(1h) at once, in hub order",
          "[coro][manual_clock]") {
  ManualClock clock(ManualClock::Mode::auto_advance);
  const auto t0 = Clock::now();
  std::vector<int> order;
  const auto took = braid::test::time_of([&] {
    auto a = braid::spawn([&] {
      braid::sleep(2h);
      order.push_back(2);
    });
    auto b = braid::spawn([&] {
      braid::sleep(1h);
      order.push_back(1);
    });
    braid::sleep(3h);
    order.push_back(3);
    braid::joinall(std::vector{a, b});
  });
  REQUIRE(took < 2s);
  REQUIRE(order == std::vector{1, 2, 3});
  REQUIRE(Clock::now() - t0 == 3h);
}

TEST_CASE("ManualClock: Timeout fires by the clock's time, not real time", "[coro][manual_clock]") {
  ManualClock clock;
  const auto t0 = Clock::now();
  bool fired_by_scope = false;
  Duration at{};
  auto t = braid::spawn([&] {
    braid::Timeout limit(5s);
    try {
      braid::sleep(1h);
    } catch (const braid::TimeoutError& e) {
      fired_by_scope = e.fired_by(limit);
      at = Clock::now() - t0;
    }
  });
  braid::yield_now();
  clock.advance(4s);
  REQUIRE_FALSE(t.ready());
  clock.advance(1s);
  REQUIRE(t.ready());
  REQUIRE(fired_by_scope);
  REQUIRE(at == 5s);
}

TEST_CASE("ManualClock: timeout arguments and Timeout under auto-advance", "[coro][manual_clock]") {
  ManualClock clock(ManualClock::Mode::auto_advance);
  const auto t0 = Clock::now();
  braid::Event never;
  const auto took = braid::test::time_of([&] {
    REQUIRE_FALSE(never.wait(10min));  // a timeout argument: returns false
    REQUIRE(Clock::now() - t0 == 10min);
    braid::Timeout limit(1h);
    REQUIRE_THROWS_AS(never.wait(), braid::TimeoutError);  // the enclosing scope fires
  });
  REQUIRE(took < 2s);
  REQUIRE(Clock::now() - t0 == 1h + 10min);
}

TEST_CASE("ManualClock: auto-advance serves ready I/O before jumping the clock",
          "[coro][manual_clock]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  ManualClock clock(ManualClock::Mode::auto_advance);
  const auto t0 = Clock::now();
  REQUIRE(::write(sv[1], "x", 1) == 1);
  braid::wait_readable(sv[0], 1h);  // readable now: no timeout, and no jump
  REQUIRE(Clock::now() == t0);
  char c = 0;
  REQUIRE(::read(sv[0], &c, 1) == 1);
  // Nothing ready now: the wait's own timeout is the next timer, so the clock jumps.
  REQUIRE_THROWS_AS(braid::wait_readable(sv[0], 1h), braid::TimeoutError);
  REQUIRE(Clock::now() - t0 == 1h);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_CASE("ManualClock: run_for under each mode", "[coro][manual_clock]") {
  SECTION("auto_advance: the clock jumps to run_for's end") {
    ManualClock clock(ManualClock::Mode::auto_advance);
    const auto t0 = Clock::now();
    bool woke = false;
    auto t = braid::spawn([&] {
      braid::sleep(30min);
      woke = true;
    });
    braid::Hub::current().run_for(1h);
    REQUIRE(woke);
    REQUIRE(Clock::now() - t0 == 1h);
    t.join();
  }
  SECTION("manual: run_for runs what is ready and returns (its end never comes)") {
    ManualClock clock;
    bool ran = false;
    bool woke = false;
    auto t = braid::spawn([&] {
      ran = true;
      braid::sleep(1s);
      woke = true;
    });
    const auto took = braid::test::time_of([] { braid::Hub::current().run_for(1h); });
    REQUIRE(took < 2s);
    REQUIRE(ran);
    REQUIRE_FALSE(woke);
    clock.advance(1s);
    REQUIRE(woke);
    t.join();
  }
}

TEST_CASE("ManualClock: uninstalling restores real time", "[coro][manual_clock]") {
  {
    ManualClock clock;
    clock.advance(1h);
    REQUIRE(Clock::manual() != nullptr);
  }
  REQUIRE(Clock::manual() == nullptr);
  const auto real = std::chrono::steady_clock::now();
  const auto now = Clock::now();
  REQUIRE(now >= real);
  REQUIRE(now - real < 1s);
  const auto took = braid::test::time_of([] { braid::sleep(20ms); });
  REQUIRE(took >= 20ms);
}

TEST_CASE("ManualClock: errors", "[coro][manual_clock]") {
  SECTION("a second clock on the same hub") {
    ManualClock clock;
    REQUIRE_THROWS_WITH(ManualClock(), Catch::Contains("already has a test clock"));
    REQUIRE(Clock::manual() != nullptr);  // the first stays installed
  }
  SECTION("installing inside a coroutine") {
    auto t = braid::spawn([] { ManualClock clock; });
    REQUIRE_THROWS_WITH(t.get(), Catch::Contains("outside coroutines"));
    REQUIRE(Clock::manual() == nullptr);
  }
  SECTION("a negative advance") {
    ManualClock clock;
    REQUIRE_THROWS_AS(clock.advance(-1s), std::invalid_argument);
  }
  SECTION("advance from another thread") {
    ManualClock clock;
    std::string error;
    std::thread([&] {
      try {
        clock.advance(1s);
      } catch (const std::logic_error& e) {
        error = e.what();
      }
    }).join();
    REQUIRE_THAT(error, Catch::Contains("not installed on"));
  }
  SECTION("manual mode: a wait only a timer could end is a LoopExit that names the clock") {
    ManualClock clock;
    REQUIRE_THROWS_WITH(braid::sleep(1s), Catch::Contains("testing::ManualClock"));
    clock.advance(1s);  // the hub is still usable
  }
}
