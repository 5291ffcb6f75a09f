#include <braid/process/synchronize.hpp>

#include <braid/coro.hpp>
#include <braid/process/process.hpp>
#include <braid/process/shared_memory.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

TEST_CASE("Lock: acquire, release, try_lock, timeouts, misuse", "[process][unit]") {
  mp::Lock lock;
  REQUIRE_FALSE(lock.locked());
  REQUIRE(lock.acquire());
  REQUIRE(lock.locked());
  REQUIRE_FALSE(lock.try_lock());
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(lock.acquire(50ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  lock.release();
  REQUIRE_THROWS_AS(lock.release(), std::logic_error);
  {
    std::lock_guard g(lock);
    REQUIRE(lock.locked());
  }
  REQUIRE_FALSE(lock.locked());
}

TEST_CASE("Lock serialises increments from several processes", "[process][unit][fork]") {
  mp::Value<int> counter(0);
  mp::Lock lock;
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int i = 0; i < 4; ++i) {
    ps.push_back(std::make_unique<mp::Process>(
        [](mp::Value<int> c, mp::Lock l) {
          for (int k = 0; k < 500; ++k) {
            std::lock_guard g(l);
            int v = c.value();
            if (k % 50 == 0) braid::yield_now();
            c.value() = v + 1;
          }
        },
        counter, lock));
  }
  for (auto& p : ps) p->start();
  for (auto& p : ps) REQUIRE(p->join(kGenerous));
  CHECK(counter.value() == 2000);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("a Lock held by a child that dies is taken over, not a deadlock",
          "[process][unit][fork]") {
  mp::Lock lock;
  mp::Event held;
  mp::Process holder(
      [](mp::Lock l, mp::Event held) {
        l.acquire();
        held.set();
        ::pause();
      },
      lock, held);
  holder.start();
  REQUIRE(held.wait(kGenerous));
  REQUIRE_FALSE(lock.acquire(50ms));  // the holder is alive: really held
  holder.kill();
  REQUIRE(holder.join(kGenerous));
  REQUIRE(lock.acquire(kGenerous));  // within ~100 ms of the death
  CHECK(lock.recovered_count() == 1);
  lock.release();
  CHECK(braid::test::no_children_left());
}

TEST_CASE("a waiter for a Lock parks only its coroutine", "[process][unit][fork]") {
  mp::Lock lock;
  mp::Event held;
  mp::Event go;
  mp::Process holder(
      [](mp::Lock l, mp::Event held, mp::Event go) {
        l.acquire();
        held.set();
        go.wait();
        l.release();
      },
      lock, held, go);
  holder.start();
  REQUIRE(held.wait(kGenerous));
  auto waiter = braid::spawn([&] { return lock.acquire(kGenerous); });
  CHECK(braid::test::others_run_while_parked(waiter));
  go.set();
  REQUIRE(waiter.get());
  CHECK(lock.recovered_count() == 0);
  lock.release();
  REQUIRE(holder.join(kGenerous));
}

TEST_CASE("RLock is re-entrant for its holder only", "[process][unit]") {
  mp::RLock r;
  REQUIRE(r.acquire());
  REQUIRE(r.acquire());
  REQUIRE(r.try_lock());
  auto other = braid::spawn([&] { return r.acquire(30ms); });
  REQUIRE_FALSE(other.get());
  auto releaser = braid::spawn([&] { r.release(); });
  REQUIRE_THROWS_AS(releaser.get(), std::logic_error);
  r.release();
  r.release();
  REQUIRE(r.locked());
  r.release();
  REQUIRE_FALSE(r.locked());
  REQUIRE_THROWS_AS(r.release(), std::logic_error);
}

TEST_CASE("Semaphore and BoundedSemaphore", "[process][unit]") {
  mp::Semaphore s(2);
  REQUIRE(s.value() == 2);
  REQUIRE(s.acquire());
  REQUIRE(s.try_lock());
  REQUIRE_FALSE(s.try_lock());
  REQUIRE_FALSE(s.acquire(30ms));
  s.release();
  s.release();
  s.release();  // unbounded: may exceed the start value
  REQUIRE(s.value() == 3);
  mp::BoundedSemaphore b(1);
  REQUIRE(b.acquire());
  b.release();
  REQUIRE_THROWS_AS(b.release(), std::logic_error);
}

TEST_CASE("Semaphore limits concurrency across processes", "[process][unit][fork]") {
  mp::Semaphore sem(2);
  mp::Value<int> inside(0), peak(0);
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int i = 0; i < 5; ++i) {
    ps.push_back(std::make_unique<mp::Process>(
        [](mp::Semaphore sem, mp::Value<int> inside, mp::Value<int> peak) {
          std::lock_guard g(sem);
          {
            std::lock_guard l(inside.get_lock());
            peak.value() = std::max(peak.value(), ++inside.value());
          }
          ::usleep(30 * 1000);
          std::lock_guard l(inside.get_lock());
          --inside.value();
        },
        sem, inside, peak));
  }
  for (auto& p : ps) p->start();
  for (auto& p : ps) REQUIRE(p->join(kGenerous));
  CHECK(peak.value() == 2);
  CHECK(inside.value() == 0);
}

TEST_CASE("Event across processes: set, clear, wait with timeout", "[process][unit][fork]") {
  mp::Event go, done;
  REQUIRE_FALSE(go.is_set());
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(go.wait(40ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 40ms);
  mp::Process p(
      [](mp::Event go, mp::Event done) {
        go.wait();
        done.set();
      },
      go, done);
  p.start();
  go.set();
  REQUIRE(done.wait(kGenerous));
  REQUIRE(go.is_set());
  go.clear();
  REQUIRE_FALSE(go.is_set());
  REQUIRE(p.join(kGenerous));
}

TEST_CASE("Event: a kill while waiting unwinds and loses no wake-up", "[process][unit]") {
  mp::Event e;
  braid::Event parked;
  auto victim = braid::spawn([&] {
    parked.set();
    e.wait();
  });
  auto other = braid::spawn([&] { return e.wait(kGenerous); });
  REQUIRE(parked.wait(kGenerous));
  braid::yield_now();
  victim.kill();
  REQUIRE(victim.ready());
  e.set();
  REQUIRE(other.get());
}

TEST_CASE("an enclosing Timeout is not swallowed by a shared wait", "[process][unit]") {
  mp::Event e;
  REQUIRE_THROWS_AS(braid::with_timeout(30ms, [&] { return e.wait(kGenerous); }),
                    braid::TimeoutError);
  mp::Lock l;
  l.acquire();
  REQUIRE_THROWS_AS(braid::with_timeout(30ms, [&] { return l.acquire(); }), braid::TimeoutError);
}

TEST_CASE("Condition: wait/notify across processes", "[process][unit][fork]") {
  mp::Lock lock;
  mp::Condition cond(&lock);
  mp::Value<int> stage(0);
  mp::Process p(
      [](mp::Condition c, mp::Value<int> stage) {
        std::lock_guard g(c);
        stage.value() = 1;
        c.notify_all();
        if (!c.wait_for([&] { return stage.value() == 2; }, 10s))
          throw std::runtime_error("timeout");
        stage.value() = 3;
        c.notify();
      },
      cond, stage);
  p.start();
  {
    std::lock_guard g(cond);
    REQUIRE(cond.wait_for([&] { return stage.value() == 1; }, kGenerous));
    stage.value() = 2;
    cond.notify();
    REQUIRE(cond.wait_for([&] { return stage.value() == 3; }, kGenerous));
  }
  REQUIRE(p.join(kGenerous));
  REQUIRE(p.exitcode() == 0);
  REQUIRE_THROWS_AS(cond.notify(), std::logic_error);  // lock not held
  REQUIRE_THROWS_AS(cond.wait(1ms), std::logic_error);
  std::lock_guard g(cond);
  REQUIRE_FALSE(cond.wait(20ms));  // nobody notifies: timeout, lock held again
  REQUIRE(lock.locked());
}

TEST_CASE("Barrier: indices, broken by timeout, abort and reset", "[process][unit][fork]") {
  mp::Barrier b(3);
  REQUIRE(b.parties() == 3);
  mp::Value<int> sum(0);
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int i = 0; i < 2; ++i) {
    ps.push_back(std::make_unique<mp::Process>(
        [](mp::Barrier b, mp::Value<int> sum) {
          const auto idx = b.wait(10s);
          std::lock_guard g(sum.get_lock());
          sum.value() += static_cast<int>(idx);
        },
        b, sum));
  }
  for (auto& p : ps) p->start();
  const auto mine = b.wait(kGenerous);
  for (auto& p : ps) REQUIRE(p->join(kGenerous));
  for (auto& p : ps) REQUIRE(p->exitcode() == 0);
  CHECK(sum.value() + static_cast<int>(mine) == 0 + 1 + 2);

  // Timeout breaks it for everyone.
  REQUIRE_THROWS_AS(b.wait(30ms), mp::BrokenBarrierError);
  REQUIRE(b.broken());
  REQUIRE_THROWS_AS(b.wait(), mp::BrokenBarrierError);
  b.reset();
  REQUIRE_FALSE(b.broken());
  REQUIRE(b.n_waiting() == 0);

  // reset() while a coroutine waits: it gets BrokenBarrierError.
  auto waiter = braid::spawn([&] { return b.wait(kGenerous); });
  braid::yield_now();
  REQUIRE(b.n_waiting() == 1);
  b.reset();
  REQUIRE_THROWS_AS(waiter.get(), mp::BrokenBarrierError);
  // abort() too.
  auto w2 = braid::spawn([&] { return b.wait(kGenerous); });
  braid::yield_now();
  b.abort();
  REQUIRE_THROWS_AS(w2.get(), mp::BrokenBarrierError);
}

TEST_CASE("Value and Array share memory with children", "[process][unit][fork]") {
  mp::Value<double> v(1.5);
  mp::Array<int> a(10, 7);
  REQUIRE(a.size() == 10);
  REQUIRE(a[9] == 7);
  REQUIRE_THROWS_AS(a.at(10), std::out_of_range);
  int plain = 0;  // an ordinary variable is copied into the child, not shared
  mp::Process p(
      [&plain](mp::Value<double> v, mp::Array<int> a) {
        v.store(v.load() * 2);
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int>(i * i);
        plain = 42;
      },
      v, a);
  p.start();
  REQUIRE(p.join(kGenerous));
  CHECK(v.value() == 3.0);
  CHECK(a[3] == 9);
  CHECK(plain == 0);
}

TEST_CASE("shared primitives leak no descriptors", "[process][unit]") {
  const std::size_t before = braid::test::open_fd_count();
  {
    mp::Lock l;
    mp::RLock r;
    mp::Semaphore s(1);
    mp::Event e;
    mp::Condition c;
    mp::Barrier b(2);
    mp::Value<int> v;
    mp::Array<char> a(100);
    l.acquire();
    l.release();
  }
  CHECK(braid::test::open_fd_count() == before);
}

TEST_CASE("Barrier action: run once per round by the last arrival, before any release",
          "[process][unit][fork]") {
  mp::Value<int> rounds(0);
  // Each process holds its own copy of the action; whichever process arrives last runs it.
  mp::Barrier b(3, [rounds]() mutable { rounds.store(rounds.load() + 1); });
  auto party = [](mp::Barrier b, mp::Value<int> rounds) {
    for (int round = 1; round <= 3; ++round) {
      b.wait(10s);
      if (rounds.load() != round) ::_exit(10 + round);  // released before the action ran
    }
  };
  mp::Process p1(party, b, rounds);
  mp::Process p2(party, b, rounds);
  p1.start();
  p2.start();
  for (int round = 1; round <= 3; ++round) {
    b.wait(kGenerous);
    CHECK(rounds.load() == round);
  }
  REQUIRE(p1.join(kGenerous));
  REQUIRE(p2.join(kGenerous));
  CHECK(p1.exitcode() == 0);
  CHECK(p2.exitcode() == 0);
  CHECK(rounds.load() == 3);
}

TEST_CASE("Barrier action that parks keeps the others waiting", "[process][unit]") {
  std::vector<std::string> order;
  mp::Barrier b(2, [&] {
    braid::sleep(30ms);
    order.push_back("action");
  });
  auto other = braid::spawn([&] {
    b.wait(kGenerous);
    order.push_back("released");
  });
  braid::yield_now();
  b.wait(kGenerous);
  other.get();
  CHECK(order == std::vector<std::string>{"action", "released"});
  CHECK_FALSE(b.broken());
}

TEST_CASE("Barrier action that throws breaks the barrier", "[process][unit]") {
  mp::Barrier b(2, [] { throw std::runtime_error("action failed"); });
  auto other = braid::spawn([&] { return b.wait(kGenerous); });
  braid::yield_now();
  REQUIRE(b.n_waiting() == 1);
  REQUIRE_THROWS_WITH(b.wait(kGenerous), "action failed");  // the caller gets the action's error
  REQUIRE_THROWS_AS(other.get(), mp::BrokenBarrierError);   // the others: broken
  CHECK(b.broken());
  b.reset();
  CHECK(b.n_waiting() == 0);
}

TEST_CASE("Barrier default timeout applies to wait() without one", "[process][unit]") {
  SECTION("the default breaks a lone waiter") {
    mp::Barrier b(2, {}, 50ms);
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE_THROWS_WITH(b.wait(), Catch::Contains("timed out"));
    CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
    CHECK(b.broken());
  }
  SECTION("an explicit timeout overrides the default") {
    mp::Barrier b(2, {}, 10min);
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE_THROWS_AS(b.wait(50ms), mp::BrokenBarrierError);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  }
  SECTION("zero parties is invalid") {
    REQUIRE_THROWS_AS(mp::Barrier(
                          0, [] {}, 1s),
                      std::invalid_argument);
  }
}
