// Manager types beyond dict and list: Namespace, Value, Queue, Lock, Event
// (multiprocessing's manager.Namespace() / Value() / Queue() / Lock() / Event()).
#include <braid/process/manager.hpp>

#include <braid/coro.hpp>
#include <braid/process/process.hpp>
#include <braid/runtime/errors.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

TEST_CASE("Manager Namespace: attributes of any type, shared with a child",
          "[process][unit][fork][manager]") {
  mp::Manager m;
  auto ns = m.make_namespace();
  ns.set("x", 1);
  ns.set("name", std::string("first"));
  CHECK(ns.get<int>("x") == 1);
  CHECK(ns.contains("name"));
  CHECK_FALSE(ns.contains("y"));
  REQUIRE_THROWS_AS(ns.get<int>("y"), mp::ManagerError);  // Python's AttributeError
  mp::Process p(
      [](mp::NamespaceProxy ns) {
        ns.set("x", ns.get<int>("x") + 41);
        ns.set("y", std::vector<int>{1, 2});
      },
      ns);
  p.start();
  REQUIRE(p.join(kGenerous));
  REQUIRE(p.exitcode() == 0);
  CHECK(ns.get<int>("x") == 42);
  CHECK(ns.get<std::vector<int>>("y") == std::vector<int>{1, 2});
  CHECK(ns.names() == std::vector<std::string>{"x", "name", "y"});
  CHECK(ns.erase("name"));
  CHECK_FALSE(ns.erase("name"));
  CHECK(ns.names() == std::vector<std::string>{"x", "y"});
}

TEST_CASE("Manager Value: get and set across processes", "[process][unit][fork][manager]") {
  mp::Manager m;
  auto v = m.value<double>(1.5);
  CHECK(v.get() == 1.5);
  auto counter = m.value<int>(0);
  auto lock = m.lock();
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int i = 0; i < 4; ++i) {
    ps.push_back(std::make_unique<mp::Process>(
        [](mp::ValueProxy<int> c, mp::LockProxy lock) {
          for (int k = 0; k < 10; ++k) {
            std::lock_guard g(lock);  // read-modify-write under the manager's lock
            c.set(c.get() + 1);
          }
        },
        counter, lock));
    ps.back()->start();
  }
  for (auto& p : ps) {
    REQUIRE(p->join(kGenerous));
    CHECK(p->exitcode() == 0);
  }
  CHECK(counter.get() == 40);
  v.set(2.5);
  CHECK(v.get() == 2.5);
}

TEST_CASE("Manager Queue: FIFO between processes, timeouts, nowait",
          "[process][unit][fork][manager]") {
  mp::Manager m;
  auto q = m.queue<std::string>(2);
  CHECK(q.empty());
  q.put("a");
  q.put_nowait("b");
  CHECK(q.full());
  CHECK(q.qsize() == 2);
  REQUIRE_THROWS_AS(q.put_nowait("c"), braid::QueueFull);
  REQUIRE_THROWS_AS(q.put("c", 30ms), braid::QueueFull);
  CHECK(q.get() == "a");
  CHECK(q.get_nowait() == "b");
  REQUIRE_THROWS_AS(q.get_nowait(), braid::QueueEmpty);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(q.get(50ms), braid::QueueEmpty);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);

  mp::Process producer(
      [](mp::QueueProxy<std::string> q) {
        for (int i = 0; i < 5; ++i) q.put("item" + std::to_string(i));  // parks while full
      },
      q);
  producer.start();
  for (int i = 0; i < 5; ++i) CHECK(q.get(kGenerous) == "item" + std::to_string(i));
  REQUIRE(producer.join(kGenerous));
  CHECK(producer.exitcode() == 0);
}

TEST_CASE("Manager Queue: a parked get does not hold up a put from the same process",
          "[process][unit][fork][manager]") {
  // One connection per call in flight: the put below would deadlock behind the get if
  // the process's coroutines took turns on a single connection.
  mp::Manager m;
  auto q = m.queue<int>();
  auto getter = braid::spawn([&] { return q.get(kGenerous); });
  braid::yield_now();
  q.put(7);
  CHECK(getter.get() == 7);
}

TEST_CASE("Manager Lock: acquire, timeout, release by anyone, misuse",
          "[process][unit][fork][manager]") {
  mp::Manager m;
  auto lock = m.lock();
  CHECK_FALSE(lock.locked());
  REQUIRE(lock.acquire());
  CHECK(lock.locked());
  CHECK_FALSE(lock.try_lock());
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(lock.acquire(50ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  // Another process may release it (not owned, as Python's Lock).
  mp::Process releaser([](mp::LockProxy l) { l.release(); }, lock);
  releaser.start();
  REQUIRE(releaser.join(kGenerous));
  CHECK(releaser.exitcode() == 0);
  CHECK_FALSE(lock.locked());
  REQUIRE_THROWS_WITH(lock.release(), Catch::Contains("unlocked"));
  // A waiter in another coroutine is handed the lock on release.
  REQUIRE(lock.try_lock());
  auto waiter = braid::spawn([&] { return lock.acquire(kGenerous); });
  braid::yield_now();
  lock.release();
  CHECK(waiter.get());
  CHECK(lock.locked());
  lock.release();
}

TEST_CASE("Manager Event: set wakes a waiter in another process",
          "[process][unit][fork][manager]") {
  mp::Manager m;
  auto e = m.event();
  auto done = m.event();
  CHECK_FALSE(e.is_set());
  CHECK_FALSE(e.wait(30ms));
  mp::Process p(
      [](mp::EventProxy e, mp::EventProxy done) {
        if (e.wait(10s)) done.set();
      },
      e, done);
  p.start();
  e.set();
  CHECK(done.wait(kGenerous));
  REQUIRE(p.join(kGenerous));
  CHECK(p.exitcode() == 0);
  CHECK(e.is_set());
  e.clear();
  CHECK_FALSE(e.is_set());
}

TEST_CASE("Manager: a proxy naming another kind of object is refused by the server",
          "[process][unit][fork][manager]") {
  mp::ManagerOptions o;
  o.authkey = "key";
  mp::Manager m(o);
  (void)m.dict<int, int>();  // id 1
  auto c = std::make_shared<mp::detail::ManagerClient>(m.address(), "key");
  mp::EventProxy as_event(c, 1);
  REQUIRE_THROWS_WITH(as_event.is_set(), Catch::Contains("no such container"));
  mp::QueueProxy<int> as_queue(c, 1);
  REQUIRE_THROWS_AS(as_queue.get_nowait(), mp::ManagerError);
  mp::LockProxy missing(c, 999);
  REQUIRE_THROWS_AS(missing.acquire(), mp::ManagerError);
  CHECK(c->idle_connections() == 1);  // a failure reply leaves the connection usable
}

TEST_CASE("Manager: a call killed while parked closes its connection",
          "[process][unit][fork][manager]") {
  mp::ManagerOptions o;
  o.authkey = "key";
  mp::Manager m(o);
  (void)m.queue<int>();  // id 1
  auto c = std::make_shared<mp::detail::ManagerClient>(m.address(), "key");
  mp::QueueProxy<int> q(c, 1);
  CHECK(q.qsize() == 0);
  REQUIRE(c->idle_connections() == 1);
  auto getter = braid::spawn([&] { return q.get(); });
  braid::yield_now();
  CHECK(c->idle_connections() == 0);  // the getter's call holds it
  getter.kill();
  CHECK(c->idle_connections() == 0);  // out of step: closed, not reused
  // A new connection (its handshake is a round trip: by its end the server has seen the
  // first one close and cancelled the parked get, which therefore takes nothing).
  q.put_nowait(1);
  CHECK(c->idle_connections() == 1);
  CHECK(q.get(kGenerous) == 1);
}

TEST_CASE("Manager: an abandoned acquire leaves the lock free", "[process][unit][fork][manager]") {
  mp::Manager m;
  auto lock = m.lock();
  REQUIRE(lock.acquire());
  // A coroutine's acquire ended by an enclosing Timeout: its server-side wait is cancelled.
  auto waiter = braid::spawn([&] {
    braid::Timeout t(50ms);
    try {
      lock.acquire();
    } catch (const braid::TimeoutError&) {
      return false;
    }
    return true;
  });
  CHECK_FALSE(waiter.get());
  lock.release();
  // Were the abandoned acquire still waiting on the server, it would take the lock now.
  CHECK(lock.acquire(kGenerous));
  lock.release();
}
