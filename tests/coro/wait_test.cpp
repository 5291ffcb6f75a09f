// braid::wait / iwait (gevent.wait / gevent.iwait) and joinall's options.
#include <braid/coro/wait.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <array>
#include <memory>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using braid::test::PausedClock;

namespace {
braid::Task<int> after(std::chrono::milliseconds d, int v) {
  return braid::spawn([d, v] {
    braid::sleep(d);
    return v;
  });
}

std::vector<int> values(const std::vector<braid::Task<int>>& ts) {
  std::vector<int> out;
  for (auto t : ts) out.push_back(t.get());
  return out;
}
}  // namespace

TEST_CASE("wait over tasks returns them all, in finishing order", "[coro][wait]") {
  PausedClock clock;
  std::vector<braid::Task<int>> ts{after(60ms, 3), after(20ms, 1), after(40ms, 2)};
  auto done = braid::wait(ts);
  REQUIRE(values(done) == std::vector<int>{1, 2, 3});
}

TEST_CASE("wait with count returns the first finishers; the rest go on", "[coro][wait]") {
  PausedClock clock;
  std::vector<braid::Task<int>> ts{after(300ms, 3), after(10ms, 1)};
  auto done = braid::wait(ts, std::nullopt, 1);
  REQUIRE(values(done) == std::vector<int>{1});
  REQUIRE_FALSE(ts[0].ready());
  REQUIRE(ts[0].get() == 3);
}

TEST_CASE("wait with a timeout returns what was ready by then", "[coro][wait]") {
  PausedClock clock;
  std::vector<braid::Task<int>> ts{after(10ms, 1), after(1h, 2)};
  std::vector<braid::Task<int>> done;
  const auto t0 = clock.now();
  done = braid::wait(ts, 100ms);
  REQUIRE(clock.now() - t0 == 100ms);
  REQUIRE(values(done) == std::vector<int>{1});
  ts[1].kill();
}

TEST_CASE("objects ready at the call come first, in input order", "[coro][wait]") {
  braid::Event a, b;
  b.set();
  a.set();
  braid::Event* list[] = {&a, &b};
  auto done = braid::wait(list);
  REQUIRE(done == std::vector<braid::Event*>{&a, &b});
  REQUIRE(braid::wait(list, std::nullopt, 1) == std::vector<braid::Event*>{&a});
}

TEST_CASE("wait mixes tasks, events, async results and queues", "[coro][wait]") {
  PausedClock clock;
  braid::Event ev;
  braid::AsyncResult<int> ar;
  braid::Queue<int> q;
  braid::Event gate;
  auto t = braid::spawn([&] {
    gate.wait();
    return 7;
  });
  // Each step parks (sleep), so the helper it woke reports before the next step.
  auto setter = braid::spawn([&] {
    braid::sleep(1ms);
    ev.set();
    braid::sleep(1ms);
    ar.set(5);
    braid::sleep(1ms);
    q.put(9);
    braid::sleep(1ms);
    gate.set();
  });
  auto done = braid::wait({t, ev, ar, q}, 10s);
  REQUIRE(done.size() == 4);
  REQUIRE(done[0].is(ev));
  REQUIRE(done[1].is(ar));
  REQUIRE(done[2].is(q));
  REQUIRE(done[3].is(t));
  REQUIRE(q.size() == 1);  // a queue is ready when it has an item; waiting takes none
  setter.get();
}

TEST_CASE("wait on a queue subclass and on anything with ready() and wait()", "[coro][wait]") {
  PausedClock clock;
  braid::LifoQueue<int> lifo;
  braid::JoinableQueue<int> jq;
  braid::AsyncResult<std::string> res;
  auto feeder = braid::spawn([&] {
    braid::sleep(5ms);
    jq.put(1);
    res.set("x");
  });
  auto done = braid::wait({lifo, jq, res}, 10s, 2);
  REQUIRE(done.size() == 2);
  REQUIRE(done[0].is(jq));
  REQUIRE(done[1].is(res));
  REQUIRE_FALSE(done[0].is(lifo));
  feeder.get();
}

TEST_CASE("iwait yields each object as it becomes ready", "[coro][wait][iwait]") {
  PausedClock clock;
  std::vector<braid::Task<int>> ts{after(200ms, 2), after(10ms, 1)};
  std::vector<int> seen;
  std::vector<bool> slow_done;
  for (auto& t : braid::iwait(ts)) {
    seen.push_back(t.get());
    slow_done.push_back(ts[0].ready());
  }
  REQUIRE(seen == std::vector<int>{1, 2});
  REQUIRE(slow_done == std::vector<bool>{false, true});  // the first came before the slow one
}

TEST_CASE("iwait over an array of non-copyable objects yields pointers", "[coro][wait][iwait]") {
  PausedClock clock;
  std::array<braid::Event, 3> evs;
  auto setter = braid::spawn([&] {
    evs[2].set();
    braid::sleep(5ms);
    evs[0].set();
  });
  std::vector<braid::Event*> seen;
  for (braid::Event* e : braid::iwait(evs, 5s, 2)) seen.push_back(e);
  REQUIRE(seen == std::vector<braid::Event*>{&evs[2], &evs[0]});
  setter.get();
}

TEST_CASE("leaving iwait early stops watching: helpers reaped, objects free to go",
          "[coro][wait][iwait]") {
  const auto live = braid::Hub::current().live_count();
  auto fast = after(5ms, 1);
  {
    auto ev = std::make_unique<braid::Event>();
    auto q = std::make_unique<braid::Queue<int>>();
    for (auto& w : braid::iwait({fast, *ev, *q})) {
      REQUIRE(w.is(fast));
      break;
    }
    // The helpers parked on ev and q are gone: destroying them now is safe (ASan).
    ev.reset();
    q.reset();
  }
  REQUIRE(braid::Hub::current().live_count() == live);
}

TEST_CASE("an exception out of an iwait loop reaps the helpers on its way", "[coro][wait][iwait]") {
  const auto live = braid::Hub::current().live_count();
  auto fast = after(1ms, 1);
  braid::Event never;
  braid::Queue<int> empty;
  auto body = [&] {
    for (auto& w : braid::iwait({fast, never, empty})) {
      if (w.is(fast)) throw std::runtime_error("body failed");
    }
  };
  REQUIRE_THROWS_WITH(body(), "body failed");
  REQUIRE(braid::Hub::current().live_count() == live);
}

TEST_CASE("an event set in the same turn as the winner does not outlive the wait", "[coro][wait]") {
  // t1 ends, waking the waiter; then t2 sets the event, waking its helper: the waiter
  // runs first and has its one object while the helper has not resumed yet. wait must
  // reap the helper before returning, or the helper would touch the freed event (ASan).
  braid::Event gate;
  auto ev = std::make_unique<braid::Event>();
  auto t1 = braid::spawn([&] { gate.wait(); });
  auto t2 = braid::spawn([&] {
    gate.wait();
    ev->set();
  });
  auto waiter = braid::spawn([&] {
    auto done = braid::wait({t1, *ev}, 5s, 1);
    REQUIRE(done.size() == 1);
    REQUIRE(done[0].is(t1));
    ev.reset();
  });
  braid::sleep(1ms);  // all three park (and the waiter's helper in ev.wait())
  gate.set();
  waiter.get();
  t2.get();
  REQUIRE(ev == nullptr);
}

TEST_CASE("wait with count 0 or no objects returns at once", "[coro][wait]") {
  auto t = after(1h, 1);
  REQUIRE(braid::wait({t}, std::nullopt, 0).empty());
  std::vector<braid::Task<int>> none;
  REQUIRE(braid::wait(none).empty());
  t.kill();
}

TEST_CASE("wait on nothing that can happen raises LoopExit and cleans up", "[coro][wait]") {
  const auto live = braid::Hub::current().live_count();
  braid::Event never;
  REQUIRE_THROWS_WITH(braid::wait({never}), Catch::Contains("wait/iwait") &&
                                                Catch::Contains("'wait-helper'") &&
                                                Catch::Contains("Event.wait"));
  REQUIRE(braid::Hub::current().live_count() == live);
}

TEST_CASE("an enclosing Timeout interrupts wait", "[coro][wait]") {
  PausedClock clock;
  const auto live = braid::Hub::current().live_count();
  braid::Event never;
  braid::Queue<int> empty;
  auto busy = after(1h, 0);
  {
    braid::Timeout limit(30ms);
    REQUIRE_THROWS_AS(braid::wait({never, empty, busy}), braid::TimeoutError);
  }
  busy.kill();
  REQUIRE(braid::Hub::current().live_count() == live);
}

TEST_CASE("killing a coroutine parked in wait unwinds it and its helpers", "[coro][wait]") {
  const auto live = braid::Hub::current().live_count();
  braid::Event never;
  braid::Event parked;
  bool returned = false;
  auto waiter = braid::spawn([&] {
    parked.set();
    braid::wait({never});
    returned = true;
  });
  REQUIRE(parked.wait(5s));
  waiter.kill();
  REQUIRE_FALSE(returned);
  REQUIRE_THROWS_AS(waiter.get(), braid::GreenletExit);
  REQUIRE(braid::Hub::current().live_count() == live);
}

TEST_CASE("a queue shut down while waited on counts as ready", "[coro][wait]") {
  PausedClock clock;
  braid::Queue<int> q;
  braid::Queue<int> closed;
  closed.shutdown();
  auto closer = braid::spawn([&] {
    braid::sleep(5ms);
    q.shutdown();
  });
  auto done = braid::wait({q, closed}, 5s);
  REQUIRE(done.size() == 2);
  REQUIRE(done[0].is(closed));  // ready at the call
  REQUIRE(done[1].is(q));
  closer.get();
}

TEST_CASE("an object whose wait() fails counts as ready", "[coro][wait]") {
  struct Broken {  // a user type whose wait() throws, e.g. a closed channel
    bool ready() const { return false; }
    void wait() { throw std::runtime_error("closed"); }
  } broken;
  auto done = braid::wait({broken}, 5s);
  REQUIRE(done.size() == 1);
}

TEST_CASE("wait rejects an empty task handle", "[coro][wait]") {
  braid::Task<int> empty;
  REQUIRE_THROWS_WITH(braid::wait({empty}), Catch::Contains("empty handle"));
}

TEST_CASE("joinall with options returns the finished tasks in finishing order",
          "[coro][wait][joinall]") {
  PausedClock clock;
  std::vector<braid::Task<int>> ts{after(40ms, 2), after(10ms, 1)};
  REQUIRE(values(braid::joinall(ts, braid::JoinallOptions{})) == std::vector<int>{1, 2});
  auto slow = after(1h, 9);
  auto quick = after(1ms, 4);
  auto done = braid::joinall({slow, quick}, {.timeout = 50ms});
  REQUIRE(values(done) == std::vector<int>{4});
  auto done1 = braid::joinall({slow, after(5ms, 5), after(10ms, 6)}, {.count = 1});
  REQUIRE(values(done1) == std::vector<int>{5});
  slow.kill();
}

TEST_CASE("joinall raise_error rethrows the first failure", "[coro][wait][joinall]") {
  PausedClock clock;
  auto ok = after(5ms, 1);
  auto bad = braid::spawn([]() -> int {
    braid::sleep(10ms);
    throw std::runtime_error("second to finish, first to fail");
  });
  braid::Event go;
  auto worse = braid::spawn([&]() -> int {
    go.wait();
    throw std::runtime_error("later failure");
  });
  REQUIRE_THROWS_WITH(braid::joinall({ok, bad, worse}, {.raise_error = true}),
                      "second to finish, first to fail");
  REQUIRE_FALSE(worse.ready());  // it returned at the first failure
  // Without raise_error the failures are just finished tasks.
  go.set();
  auto all = braid::joinall({ok, bad, worse}, {.raise_error = false});
  REQUIRE(all.size() == 3);
}

TEST_CASE("joinall raise_error does not count a plain kill as a failure (gevent)",
          "[coro][wait][joinall]") {
  PausedClock clock;
  auto victim = after(1h, 0);
  braid::yield_now();
  victim.kill();
  auto ok = after(1ms, 1);
  auto done = braid::joinall({victim, ok}, {.raise_error = true});
  REQUIRE(done.size() == 2);
  // A kill with an exception of the caller's choosing is one.
  auto marked = after(1h, 0);
  marked.kill(std::make_exception_ptr(std::runtime_error("stopped")), false);
  REQUIRE_THROWS_WITH(braid::joinall({marked}, {.raise_error = true}), "stopped");
}

TEST_CASE("joinall with options marks failures as retrieved", "[coro][wait][joinall]") {
  PausedClock clock;
  braid::test::LogCapture log;
  {
    auto bad = braid::spawn([] { throw std::runtime_error("joined, not lost"); });
    std::vector<braid::Task<void>> ts{bad};
    REQUIRE(braid::joinall(ts, braid::JoinallOptions{}).size() == 1);
  }
  braid::sleep(1ms);
  REQUIRE(log.text().empty());
}
