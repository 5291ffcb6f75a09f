// Task links (gevent's link / link_value / link_exception / unlink), killall, and tasks
// made without starting them (gevent's Greenlet() + start() / start_later()).
#include <braid/coro/task.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("link callbacks run after the end, in the order linked", "[coro][task][link]") {
  std::vector<std::string> calls;
  braid::Event done;
  auto t = braid::spawn([] {
    braid::sleep(5ms);
    return 42;
  });
  t.link([&](braid::Task<int> self) { calls.push_back("first " + std::to_string(self.get())); });
  t.link([&] { calls.push_back("second"); });
  t.link([&](braid::Task<int>) { done.set(); });
  REQUIRE(t.get() == 42);
  REQUIRE(done.wait(5s));
  REQUIRE(calls == std::vector<std::string>{"first 42", "second"});
}

TEST_CASE("a link added after the end still fires", "[coro][task][link]") {
  auto t = braid::spawn([] { return 1; });
  REQUIRE(t.get() == 1);
  braid::AsyncResult<int> got;
  t.link([&](braid::Task<int> self) { got.set(self.get() + 1); });
  REQUIRE(got.get(5s) == 2);
}

TEST_CASE("link_value fires on success only, link_exception on failure only",
          "[coro][task][link]") {
  std::vector<std::string> calls;
  auto ok = braid::spawn([] { return 1; });
  auto bad = braid::spawn([]() -> int { throw std::runtime_error("no"); });
  ok.link_value([&] { calls.push_back("ok value"); });
  ok.link_exception([&] { calls.push_back("ok exception"); });
  bad.link_value([&] { calls.push_back("bad value"); });
  bad.link_exception([&](braid::Task<int> b) {
    REQUIRE_THROWS_WITH(b.get(), "no");
    calls.push_back("bad exception");
  });
  braid::AsyncResult<bool> all;
  bad.link([&] { all.set(true); });  // runs after bad's other links
  ok.join();
  bad.join();
  REQUIRE(all.get(5s));
  braid::yield_now();
  REQUIRE(calls == std::vector<std::string>{"ok value", "bad exception"});
}

TEST_CASE("a killed task fires link_exception (braid counts a kill as unsuccessful)",
          "[coro][task][link]") {
  auto t = braid::spawn([] { braid::sleep(1h); });
  braid::AsyncResult<std::string> which;
  t.link_value([&] { which.set("value"); });
  t.link_exception([&] { which.set("exception"); });
  braid::yield_now();
  t.kill();
  REQUIRE(which.get(5s) == "exception");
}

TEST_CASE("unlink removes a callback before it runs", "[coro][task][link]") {
  bool called = false;
  auto t = braid::spawn([] { braid::sleep(5ms); });
  auto id = t.link([&] { called = true; });
  braid::Event last;
  t.link([&] { last.set(); });
  REQUIRE(t.unlink(id));
  REQUIRE_FALSE(t.unlink(id));  // already gone
  t.join();
  REQUIRE(last.wait(5s));
  REQUIRE_FALSE(called);
  // After it ran, unlink reports false.
  braid::Event ran;
  auto id2 = t.link([&] { ran.set(); });
  REQUIRE(ran.wait(5s));
  REQUIRE_FALSE(t.unlink(id2));
}

TEST_CASE("an early callback may unlink a later one", "[coro][task][link]") {
  auto t = braid::spawn([] { braid::sleep(5ms); });
  bool later_called = false;
  braid::LinkId later;
  braid::Event done;
  t.link([&] { t.unlink(later); });
  later = t.link([&] { later_called = true; });
  t.link([&] { done.set(); });
  REQUIRE(done.wait(5s));
  REQUIRE_FALSE(later_called);
}

TEST_CASE("a callback that parks does not hold up the next one", "[coro][task][link]") {
  auto t = braid::spawn([] {});
  braid::Event release;
  std::vector<int> order;
  braid::Event second_ran;
  t.link([&] {
    order.push_back(1);
    release.wait();
    order.push_back(3);
  });
  t.link([&] {
    order.push_back(2);
    second_ran.set();
  });
  REQUIRE(second_ran.wait(5s));
  release.set();
  braid::sleep(1ms);
  REQUIRE(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("an exception in a callback is logged, not propagated", "[coro][task][link]") {
  braid::test::LogCapture log;
  auto t = braid::spawn(braid::SpawnOptions{"linked"}, [] { return 3; });
  braid::Event after;
  t.link([] { throw std::runtime_error("callback broke"); });
  t.link([&] { after.set(); });
  REQUIRE(t.get() == 3);
  REQUIRE(after.wait(5s));
  braid::sleep(1ms);
  REQUIRE_THAT(log.text(), Catch::Contains("[error]") && Catch::Contains("'linked'") &&
                               Catch::Contains("callback broke"));
}

TEST_CASE("killall kills every task and waits for them", "[coro][task][killall]") {
  int unwound = 0;
  struct Guard {
    int* n;
    ~Guard() { ++*n; }
  };
  std::vector<braid::Task<void>> ts;
  for (int i = 0; i < 3; ++i)
    ts.push_back(braid::spawn([&] {
      Guard g{&unwound};
      braid::sleep(1h);
    }));
  braid::yield_now();  // the three park in sleep
  bool ran = false;
  ts.push_back(braid::spawn([&] { ran = true; }));  // not started yet: it never will
  braid::killall(ts);
  REQUIRE(unwound == 3);
  for (auto& t : ts) {
    REQUIRE(t.ready());
    REQUIRE_THROWS_AS(t.get(), braid::GreenletExit);
  }
  braid::sleep(1ms);
  REQUIRE_FALSE(ran);
}

TEST_CASE("killall with an exception records it as each task's outcome", "[coro][task][killall]") {
  auto a = braid::spawn([] { braid::sleep(1h); });
  auto b = braid::spawn([] { braid::sleep(1h); });
  braid::yield_now();
  braid::killall({a, b}, std::make_exception_ptr(std::runtime_error("shut down")));
  REQUIRE_THROWS_WITH(a.get(), "shut down");
  REQUIRE_THROWS_WITH(b.get(), "shut down");
  REQUIRE_FALSE(a.successful());
}

TEST_CASE("killall without block returns at once", "[coro][task][killall]") {
  auto a = braid::spawn([] { braid::sleep(1h); });
  braid::yield_now();
  braid::killall({a}, nullptr, false);
  REQUIRE_FALSE(a.ready());  // dies at its next switch point
  REQUIRE(a.join(5s));
}

TEST_CASE("killall raises TimeoutError when a task outlives the timeout", "[coro][task][killall]") {
  braid::Event release;
  auto stubborn = braid::spawn([&] {
    try {
      braid::sleep(1h);
    } catch (const braid::GreenletExit&) {
      release.wait();  // cleans up slowly
      throw;
    }
  });
  auto quick = braid::spawn([] { braid::sleep(1h); });
  braid::yield_now();
  REQUIRE_THROWS_WITH(braid::killall({stubborn, quick}, nullptr, true, 30ms),
                      Catch::Contains("1 of 2 task(s) still alive"));
  REQUIRE(quick.ready());
  release.set();
  REQUIRE(stubborn.join(5s));
}

TEST_CASE("killall of a list holding the caller kills the others first", "[coro][task][killall]") {
  std::vector<braid::Task<void>> ts;
  ts.push_back(braid::spawn([] { braid::sleep(1h); }));
  bool after = false;
  ts.push_back(braid::spawn([&] {
    braid::killall(ts);
    after = true;
  }));
  REQUIRE(ts[1].join(5s));
  REQUIRE_FALSE(after);
  REQUIRE(ts[0].ready());
  REQUIRE_THROWS_AS(ts[1].get(), braid::GreenletExit);
}

TEST_CASE("Task::kill with an exception and a timeout", "[coro][task][kill]") {
  auto t = braid::spawn([] { braid::sleep(1h); });
  braid::yield_now();
  t.kill(std::make_exception_ptr(std::logic_error("custom")), true, 5s);
  REQUIRE(t.ready());
  REQUIRE_THROWS_AS(t.get(), std::logic_error);
}

TEST_CASE("make_task does not run until start()", "[coro][task][unstarted]") {
  bool ran = false;
  auto t = braid::make_task(
      [&](int x) {
        ran = true;
        return x + 1;
      },
      1);
  REQUIRE_FALSE(t.started());
  braid::sleep(5ms);
  REQUIRE_FALSE(ran);
  REQUIRE_FALSE(t.ready());
  t.start();
  REQUIRE(t.started());
  t.start();  // a second start is a no-op
  REQUIRE(t.get() == 2);
  REQUIRE_FALSE(t.started());  // gevent: bool(g) is false once it has finished
}

TEST_CASE("start_later runs it after the delay", "[coro][task][unstarted]") {
  const auto t0 = std::chrono::steady_clock::now();
  auto t = braid::make_task(braid::SpawnOptions{"late"},
                            [&] { return std::chrono::steady_clock::now() - t0; });
  t.start_later(30ms);
  REQUIRE(t.started());
  REQUIRE(t.name() == "late");
  REQUIRE(t.get() >= 30ms);
}

TEST_CASE("join on an unstarted task waits for its start and end", "[coro][task][unstarted]") {
  auto t = braid::make_task([] { return 5; });
  REQUIRE_FALSE(t.join(20ms));  // nobody starts it: the timeout elapses
  REQUIRE_THROWS_AS(t.get(10ms), braid::TimeoutError);
  auto starter = braid::spawn([t]() mutable {
    braid::sleep(10ms);
    t.start();
  });
  REQUIRE(t.join(5s));
  REQUIRE(t.get() == 5);
  starter.get();
}

TEST_CASE("join on an unstarted task nobody can start raises LoopExit", "[coro][task][unstarted]") {
  auto t = braid::make_task([] {});
  REQUIRE_THROWS_AS(t.join(), braid::LoopExit);
}

TEST_CASE("killing an unstarted task: it never runs, joiners and links hear of it",
          "[coro][task][unstarted]") {
  bool ran = false;
  auto t = braid::make_task([&] { ran = true; });
  braid::AsyncResult<bool> linked;
  t.link_exception([&] { linked.set(true); });
  auto joiner = braid::spawn([t]() mutable { return t.join(5s); });
  braid::yield_now();
  t.kill();
  REQUIRE(t.ready());
  REQUIRE(joiner.get());
  REQUIRE(linked.get(5s));
  REQUIRE_THROWS_AS(t.get(), braid::GreenletExit);
  t.start();  // no-op: it is dead
  braid::sleep(1ms);
  REQUIRE_FALSE(ran);
  REQUIRE_FALSE(t.started());
  // Killed with an exception of the caller's choosing, that is its outcome.
  auto u = braid::make_task([] { return 1; });
  u.kill(std::make_exception_ptr(std::runtime_error("cancelled before start")), false);
  REQUIRE_THROWS_WITH(u.get(), "cancelled before start");
}

TEST_CASE("wait and Group see an unstarted task once it is started", "[coro][task][unstarted]") {
  auto t = braid::make_task([] { return 1; });
  braid::Group g;
  g.add(t);
  REQUIRE(g.size() == 1);
  auto starter = braid::spawn([t]() mutable { t.start(); });
  auto done = braid::wait({t}, 5s);
  REQUIRE(done.size() == 1);
  REQUIRE(g.join(5s));
  starter.get();
}

TEST_CASE("hub shutdown with linked, unstarted and waited-on tasks is clean",
          "[coro][task][link]") {
  auto sleeper = braid::spawn([] { braid::sleep(1h); });
  sleeper.link([] {});
  auto unstarted = braid::make_task([] {});
  unstarted.link([] {});
  braid::Event never;
  auto waiter = braid::spawn([&] { braid::wait({sleeper, never}); });
  braid::sleep(1ms);
  // Kills the sleeper, the waiter and its helper; a link started meanwhile is cancelled
  // with the rest. A later Hub::current() makes a new hub.
  braid::Hub::uninstall();
  REQUIRE(sleeper.ready());
  REQUIRE(waiter.ready());
  REQUIRE_FALSE(unstarted.ready());
  unstarted.start();  // on the new hub
  REQUIRE(unstarted.join(5s));
}

TEST_CASE("Pool::start adds an unstarted task when there is room, then starts it",
          "[coro][task][unstarted]") {
  braid::Pool pool(1);
  braid::Event release;
  auto busy = pool.spawn([&] { release.wait(); });
  auto queued = braid::make_task([] { return 7; });
  auto starter = braid::spawn([&] { pool.start(queued); });
  braid::sleep(5ms);
  REQUIRE_FALSE(queued.started());  // the pool is full: start waits for room
  release.set();
  REQUIRE(queued.get(5s) == 7);
  REQUIRE(pool.join(5s));
  starter.get();
  busy.get();
}
