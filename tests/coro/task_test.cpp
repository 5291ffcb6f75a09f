#include <braid/coro/task.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <memory>

using namespace std::chrono_literals;
using braid::test::PausedClock;

TEST_CASE("spawn runs the function with its arguments and get returns the value",
          "[coro][task]") {
  auto t = braid::spawn([](int a, std::string b) { return b + std::to_string(a); }, 7,
                        std::string("x"));
  REQUIRE_FALSE(t.ready());  // starts when main parks
  REQUIRE(t.get() == "x7");
  REQUIRE(t.ready());
  REQUIRE(t.successful());
  REQUIRE(t.exception() == nullptr);
  REQUIRE(t.name() == "Task-" + std::to_string(t.id()));
}

TEST_CASE("spawn moves move-only arguments and results", "[coro][task]") {
  auto t = braid::spawn([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
                        std::make_unique<int>(41));
  REQUIRE(*t.get() == 42);
}

TEST_CASE("tasks have unique ids and the names they were given", "[coro][task]") {
  auto a = braid::spawn(braid::SpawnOptions{"alpha"}, [] {});
  auto b = braid::spawn([] {});
  REQUIRE(a.name() == "alpha");
  REQUIRE(a.id() != b.id());
  braid::joinall(a, b);
}

TEST_CASE("an exception crosses get() and join() never rethrows", "[coro][task]") {
  auto t = braid::spawn([]() -> int { throw std::runtime_error("task failed"); });
  REQUIRE(t.join());
  REQUIRE(t.ready());
  REQUIRE_FALSE(t.successful());
  REQUIRE(t.exception() != nullptr);
  REQUIRE_THROWS_WITH(t.get(), "task failed");
  REQUIRE_THROWS_WITH(t.get(), "task failed");  // every get rethrows
}

TEST_CASE("an exception in one coroutine does not disturb the others", "[coro][task]") {
  PausedClock clock;
  braid::test::LogCapture log;
  auto bad = braid::spawn([] { throw std::runtime_error("one bad apple"); });
  auto good = braid::spawn([] {
    braid::sleep(5ms);
    return 1;
  });
  REQUIRE(good.get() == 1);
  REQUIRE_THROWS(bad.get());
}

TEST_CASE("an exception nobody joins is logged with the task's name", "[coro][task]") {
  PausedClock clock;
  braid::test::LogCapture log;
  braid::spawn(braid::SpawnOptions{"forgotten"}, [] { throw std::runtime_error("lost error"); });
  braid::sleep(1ms);  // the task runs, dies, and its last handle is gone
  REQUIRE_THAT(log.text(), Catch::Contains("[error]") && Catch::Contains("'forgotten'") &&
                               Catch::Contains("lost error"));
}

TEST_CASE("a joined failure and a kill are not logged", "[coro][task]") {
  PausedClock clock;
  braid::test::LogCapture log;
  {
    auto t = braid::spawn([] { throw std::runtime_error("seen"); });
    t.join();
    auto k = braid::spawn([] { braid::sleep(1h); });
    braid::yield_now();
    k.kill();
  }
  braid::sleep(1ms);
  REQUIRE(log.text().empty());
}

TEST_CASE("kill unwinds the task's stack, running destructors", "[coro][task][kill]") {
  int destroyed = 0;
  struct Guard {
    int* n;
    ~Guard() { ++*n; }
  };
  braid::Event parked;
  auto t = braid::spawn([&] {
    Guard g{&destroyed};
    parked.set();
    braid::sleep(1h);
  });
  REQUIRE(parked.wait(5s));
  t.kill();
  REQUIRE(t.ready());
  REQUIRE(destroyed == 1);
  REQUIRE_FALSE(t.successful());
  REQUIRE_THROWS_AS(std::rethrow_exception(t.exception()), braid::GreenletExit);
}

TEST_CASE("catch (std::exception&) cannot swallow a kill", "[coro][task][kill]") {
  bool swallowed = false;
  auto t = braid::spawn([&] {
    try {
      braid::sleep(1h);
    } catch (const std::exception&) {
      swallowed = true;
    }
  });
  braid::yield_now();
  t.kill();
  REQUIRE_FALSE(swallowed);
}

TEST_CASE("a task killed before it starts never runs", "[coro][task][kill]") {
  PausedClock clock;
  bool ran = false;
  auto t = braid::spawn([&] { ran = true; });
  t.kill();
  REQUIRE(t.ready());
  braid::sleep(1ms);
  REQUIRE_FALSE(ran);
  REQUIRE_THROWS_AS(t.get(), braid::GreenletExit);
}

TEST_CASE("kill(false) returns at once; the task dies at its next switch", "[coro][task][kill]") {
  auto t = braid::spawn([] { braid::sleep(1h); });
  braid::yield_now();
  t.kill(false);
  REQUIRE(t.join(5s));
}

TEST_CASE("a task that kills itself unwinds", "[coro][task][kill]") {
  braid::Task<void> self;
  bool after = false;
  self = braid::spawn([&] {
    braid::yield_now();
    self.kill();
    after = true;
  });
  REQUIRE(self.join(5s));
  REQUIRE_FALSE(after);
}

TEST_CASE("a task cannot join itself", "[coro][task]") {
  braid::Task<int> self;
  self = braid::spawn([&] {
    braid::yield_now();
    return self.get();
  });
  REQUIRE_THROWS_AS(self.get(), std::logic_error);
}

TEST_CASE("join with a timeout returns false while the task runs", "[coro][task]") {
  PausedClock clock;
  auto t = braid::spawn([] { braid::sleep(1h); });
  const auto t0 = clock.now();
  REQUIRE_FALSE(t.join(30ms));
  REQUIRE(clock.now() - t0 == 30ms);
  t.kill();
}

TEST_CASE("joinall waits for a range, a list and a pack", "[coro][task]") {
  PausedClock clock;
  std::vector<braid::Task<int>> v;
  for (int i = 0; i < 5; ++i) v.push_back(braid::spawn([i] {
    braid::sleep(std::chrono::milliseconds(i));
    return i;
  }));
  REQUIRE(braid::joinall(v));
  for (int i = 0; i < 5; ++i) REQUIRE(v[i].get() == i);
  auto a = braid::spawn([] { return 1; });
  auto b = braid::spawn([] {});
  REQUIRE(braid::joinall(a, b));
  auto c = braid::spawn([] { return 2; });
  REQUIRE(braid::joinall({a, c}, 1s));
  auto slow = braid::spawn([] {
    braid::sleep(1h);
    return 0;
  });
  REQUIRE_FALSE(braid::joinall({a, slow}, 20ms));
  slow.kill();
}

TEST_CASE("ten 100 ms sleeps run concurrently", "[coro][sleep]") {
  std::vector<braid::Task<void>> tasks;
  const auto took = braid::test::time_of([&] {
    for (int i = 0; i < 10; ++i) tasks.push_back(braid::spawn([] { braid::sleep(100ms); }));
    braid::joinall(tasks);
  });
  REQUIRE(took >= 100ms);
  REQUIRE(took < 600ms);
}

TEST_CASE("sleep(0) and yield_now let others run", "[coro][sleep]") {
  std::vector<int> order;
  auto a = braid::spawn([&] {
    order.push_back(1);
    braid::sleep(0s);
    order.push_back(3);
  });
  auto b = braid::spawn([&] {
    order.push_back(2);
    braid::yield_now();
    order.push_back(4);
  });
  braid::joinall(a, b);
  REQUIRE(order == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("spawn_later starts after the delay; killed before, it never runs", "[coro][task]") {
  PausedClock clock;
  const auto t0 = clock.now();
  auto later = braid::spawn_later(30ms, [&] { return clock.now() - t0; });
  REQUIRE(later.get() == 30ms);
  bool ran = false;
  auto never = braid::spawn_later(1h, [&] { ran = true; });
  braid::yield_now();
  never.kill();
  REQUIRE_FALSE(ran);
}

TEST_CASE("100,000 coroutines run and finish", "[coro][task][slow]") {
  constexpr int kCount = 100'000;
  int finished = 0;
  std::vector<braid::Task<void>> tasks;
  tasks.reserve(kCount);
  for (int i = 0; i < kCount; ++i) tasks.push_back(braid::spawn([&] {
    braid::sleep(10ms);
    ++finished;
  }));
  REQUIRE(braid::joinall(tasks, 60s));
  REQUIRE(finished == kCount);
}

TEST_CASE("an empty Task handle is a clear error", "[coro][task]") {
  braid::Task<int> empty;
  REQUIRE_FALSE(empty.valid());
  REQUIRE_THROWS_WITH(empty.get(), Catch::Contains("empty handle"));
}

TEST_CASE("get with a timeout returns the value or raises TimeoutError", "[coro][task]") {
  PausedClock clock;
  auto quick = braid::spawn([] {
    braid::sleep(5ms);
    return 1;
  });
  REQUIRE(quick.get(5s) == 1);
  auto slow = braid::spawn(braid::SpawnOptions{"slowpoke"}, [] {
    braid::sleep(1h);
    return 2;
  });
  const auto t0 = clock.now();
  REQUIRE_THROWS_WITH(slow.get(30ms), Catch::Contains("Task.get") &&
                                          Catch::Contains("'slowpoke'") && Catch::Contains("30ms"));
  REQUIRE(clock.now() - t0 == 30ms);
  REQUIRE_FALSE(slow.ready());  // the timeout stops the wait, not the task
  REQUIRE_THROWS_AS(slow.get(0s), braid::TimeoutError);  // gevent's get(block=False)
  slow.kill();
  REQUIRE_THROWS_AS(slow.get(0s), braid::GreenletExit);  // finished: no waiting at all
}
