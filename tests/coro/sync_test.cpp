#include <braid/coro/event.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <mutex>

using namespace std::chrono_literals;

TEST_CASE("Event wakes every waiter; clear resets it", "[coro][event]") {
  braid::Event ev;
  int woken = 0;
  std::vector<braid::Task<void>> ws;
  for (int i = 0; i < 5; ++i)
    ws.push_back(braid::spawn([&] {
      REQUIRE(ev.wait());
      ++woken;
    }));
  braid::yield_now();
  REQUIRE(woken == 0);
  ev.set();
  braid::joinall(ws);
  REQUIRE(woken == 5);
  REQUIRE(ev.is_set());
  REQUIRE(ev.wait());  // already set: immediate
  ev.clear();
  REQUIRE_FALSE(ev.is_set());
  REQUIRE_FALSE(ev.wait(10ms));
}

TEST_CASE("Event wakes waiters in order, and a late wait() returns after them", "[coro][event]") {
  braid::Event ev;
  std::vector<int> order;
  auto waiter = [&](int i) {
    REQUIRE(ev.wait());
    order.push_back(i);
  };
  auto w1 = braid::spawn(waiter, 1);
  auto w2 = braid::spawn(waiter, 2);
  braid::yield_now();  // both park
  ev.set();
  waiter(3);                          // set already: still behind 1 and 2, as in gevent
  auto w4 = braid::spawn(waiter, 4);  // later still, after they have run: at once
  braid::joinall(std::vector<braid::Task<void>>{w1, w2, w4});
  CHECK(order == std::vector<int>{1, 2, 3, 4});

  // A woken waiter killed before it runs does not leave later waits yielding for ever.
  braid::Event ev2;
  auto victim = braid::spawn([&] { ev2.wait(); });
  braid::yield_now();
  ev2.set();
  victim.kill();
  CHECK(victim.ready());
  bool returned = false;
  auto late = braid::spawn([&] { returned = ev2.wait(); });
  late.join();
  CHECK(returned);
}

TEST_CASE("AsyncResult delivers a value or an exception", "[coro][event]") {
  braid::AsyncResult<int> r;
  braid::spawn([&] {
    braid::sleep(5ms);
    r.set(9);
  });
  REQUIRE(r.get(5s) == 9);
  braid::AsyncResult<int> e;
  e.set_exception(std::make_exception_ptr(std::runtime_error("async boom")));
  REQUIRE_THROWS_WITH(e.get(), "async boom");
  braid::AsyncResult<int> never;
  REQUIRE_THROWS_AS(never.get(10ms), braid::TimeoutError);
  REQUIRE_FALSE(never.wait(1ms));
}

TEST_CASE("Semaphore bounds concurrency and serves waiters in order", "[coro][semaphore]") {
  braid::Semaphore sem(2);
  int inside = 0, peak = 0;
  std::vector<int> order;
  std::vector<braid::Task<void>> ts;
  for (int i = 0; i < 6; ++i)
    ts.push_back(braid::spawn([&, i] {
      std::lock_guard g(sem);
      order.push_back(i);
      peak = std::max(peak, ++inside);
      braid::sleep(5ms);
      --inside;
    }));
  braid::joinall(ts);
  REQUIRE(peak == 2);
  REQUIRE(order == std::vector<int>{0, 1, 2, 3, 4, 5});
  REQUIRE(sem.value() == 2);
}

TEST_CASE("Semaphore acquire times out, try_lock never parks", "[coro][semaphore]") {
  braid::Semaphore sem(1);
  REQUIRE(sem.try_lock());
  REQUIRE_FALSE(sem.try_lock());
  REQUIRE_FALSE(sem.acquire(10ms));
  sem.release();
  REQUIRE(sem.acquire(10ms));
  sem.release();
}

TEST_CASE("BoundedSemaphore refuses a release above its start value", "[coro][semaphore]") {
  braid::BoundedSemaphore sem(1);
  sem.acquire();
  sem.release();
  REQUIRE_THROWS_AS(sem.release(), std::logic_error);
  REQUIRE(sem.value() == 1);
}

TEST_CASE("Semaphore and BoundedSemaphore default to one permit", "[coro][semaphore]") {
  braid::Semaphore sem;  // gevent: Semaphore(value=1)
  CHECK(sem.value() == 1);
  CHECK(sem.try_lock());
  CHECK_FALSE(sem.acquire(10ms));
  sem.release();
  sem.release();  // unbounded: may go above its start value
  CHECK(sem.value() == 2);

  braid::BoundedSemaphore bounded;
  CHECK(bounded.value() == 1);
  CHECK(bounded.acquire(10ms));
  CHECK_FALSE(bounded.try_lock());
  bounded.release();
  CHECK_THROWS_AS(bounded.release(), std::logic_error);  // bound of one
  CHECK(bounded.value() == 1);
}

TEST_CASE("Lock is exclusive; releasing it unheld is an error", "[coro][lock]") {
  braid::Lock lock;
  REQUIRE_FALSE(lock.locked());
  REQUIRE_THROWS_AS(lock.release(), std::logic_error);
  int counter = 0;
  std::vector<braid::Task<void>> ts;
  for (int i = 0; i < 10; ++i)
    ts.push_back(braid::spawn([&] {
      std::lock_guard g(lock);
      int seen = counter;
      braid::yield_now();  // would interleave without the lock
      counter = seen + 1;
    }));
  braid::joinall(ts);
  REQUIRE(counter == 10);
  REQUIRE(lock.acquire(1s));
  REQUIRE(lock.locked());
  REQUIRE_FALSE(lock.try_lock());
  lock.release();
}

TEST_CASE("RLock is re-entrant for its holder only", "[coro][lock]") {
  braid::RLock lock;
  {
    std::lock_guard a(lock);
    std::lock_guard b(lock);
    auto other = braid::spawn([&] { return lock.acquire(10ms); });
    REQUIRE_FALSE(other.get());
    auto thief = braid::spawn([&] { lock.release(); });
    REQUIRE_THROWS_AS(thief.get(), std::logic_error);
  }
  REQUIRE_FALSE(lock.locked());
  auto other = braid::spawn([&] {
    std::lock_guard g(lock);
    return true;
  });
  REQUIRE(other.get());
}

TEST_CASE("Queue is FIFO and hands items straight to waiting getters", "[coro][queue]") {
  braid::Queue<int> q;
  auto consumer = braid::spawn([&] {
    std::vector<int> got;
    for (int i = 0; i < 100; ++i) got.push_back(q.get());
    return got;
  });
  for (int i = 0; i < 100; ++i) q.put(i);
  auto got = consumer.get();
  for (int i = 0; i < 100; ++i) REQUIRE(got[i] == i);
  REQUIRE(q.empty());
}

TEST_CASE("a bounded Queue parks putters until there is room", "[coro][queue]") {
  braid::Queue<int> q(2);
  auto producer = braid::spawn([&] {
    for (int i = 0; i < 5; ++i) q.put(i);
  });
  braid::yield_now();
  REQUIRE(q.full());
  REQUIRE(q.size() == 2);
  std::vector<int> got;
  for (int i = 0; i < 5; ++i) got.push_back(q.get());
  producer.get();
  REQUIRE(got == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("Queue timeouts raise QueueFull / QueueEmpty and lose nothing", "[coro][queue]") {
  braid::Queue<std::string> q(1);
  q.put("a");
  REQUIRE_THROWS_AS(q.put("b", 10ms), braid::QueueFull);
  REQUIRE_FALSE(q.try_put("b"));
  REQUIRE(q.get() == "a");
  REQUIRE_THROWS_AS(q.get(10ms), braid::QueueEmpty);
  REQUIRE_FALSE(q.try_get().has_value());
  REQUIRE(q.try_put("c"));
  REQUIRE(q.try_get() == std::optional<std::string>("c"));
}

TEST_CASE("a getter killed while parked takes no item with it", "[coro][queue][kill]") {
  braid::Queue<int> q;
  auto doomed = braid::spawn([&] { return q.get(); });
  braid::yield_now();
  doomed.kill();
  q.put(1);
  REQUIRE(q.get() == 1);
}

TEST_CASE("JoinableQueue join waits for task_done of every item", "[coro][queue]") {
  braid::JoinableQueue<int> q;
  int processed = 0;
  auto worker = braid::spawn([&] {
    for (;;) {
      q.get();
      braid::sleep(1ms);
      ++processed;
      q.task_done();
    }
  });
  for (int i = 0; i < 10; ++i) q.put(i);
  REQUIRE(q.join(5s));
  REQUIRE(processed == 10);
  REQUIRE_THROWS_AS(q.task_done(), std::logic_error);
  worker.kill();
}

TEST_CASE("Group tracks members; Pool bounds them", "[coro][group]") {
  braid::Group group;
  for (int i = 0; i < 5; ++i) group.spawn([] { braid::sleep(5ms); });
  REQUIRE(group.size() == 5);
  REQUIRE(group.join(5s));
  REQUIRE(group.size() == 0);

  braid::Pool pool(3);
  int inside = 0, peak = 0;
  for (int i = 0; i < 9; ++i) {
    pool.spawn([&] {
      peak = std::max(peak, ++inside);
      braid::sleep(5ms);
      --inside;
    });
    REQUIRE(pool.size() <= 3);
  }
  REQUIRE(pool.join(5s));
  REQUIRE(peak == 3);
  REQUIRE(pool.free_count() == 3);
  REQUIRE_THROWS_AS(braid::Pool(0), std::invalid_argument);
}

TEST_CASE("Group kill stops every member", "[coro][group][kill]") {
  braid::Group group;
  for (int i = 0; i < 4; ++i) group.spawn([] { braid::sleep(1h); });
  braid::yield_now();
  group.kill();
  REQUIRE(group.size() == 0);
  REQUIRE_FALSE(group.join(1ms) == false);
}

TEST_CASE("LifoQueue hands out the newest item first", "[coro][queue]") {
  braid::LifoQueue<int> q;
  for (int i = 1; i <= 3; ++i) q.put(i);
  CHECK(q.get() == 3);
  CHECK(q.get() == 2);
  q.put(4);
  CHECK(q.get() == 4);
  CHECK(q.get() == 1);
  CHECK_FALSE(q.try_get().has_value());
  // A parked getter still gets the first item put, and a full LIFO queue parks putters.
  braid::LifoQueue<int> bounded(2);
  auto getter = braid::spawn([&] { return bounded.get(); });
  braid::yield_now();
  bounded.put(7);
  CHECK(getter.get() == 7);
  bounded.put(1);
  bounded.put(2);
  CHECK(bounded.full());
  auto putter = braid::spawn([&] { bounded.put(3); });
  braid::yield_now();
  CHECK(bounded.get() == 2);  // room: the parked putter's 3 goes in
  putter.join();
  CHECK(bounded.get() == 3);
  CHECK(bounded.get() == 1);
  CHECK_THROWS_AS(bounded.get(10ms), braid::QueueEmpty);
}

TEST_CASE("PriorityQueue hands out the smallest item first", "[coro][queue]") {
  braid::PriorityQueue<std::pair<int, std::string>> q;
  q.put({3, "low"});
  q.put({1, "urgent"});
  q.put({2, "normal"});
  CHECK(q.size() == 3);
  CHECK(q.get().second == "urgent");
  CHECK(q.get().second == "normal");
  q.put({0, "now"});
  CHECK(q.get().second == "now");
  CHECK(q.get().second == "low");
  CHECK(q.empty());

  braid::PriorityQueue<int, std::greater<int>> largest_first;
  for (int v : {5, 9, 1, 7}) largest_first.put(v);
  std::vector<int> out;
  while (auto v = largest_first.try_get()) out.push_back(*v);
  CHECK(out == std::vector<int>{9, 7, 5, 1});

  braid::PriorityQueue<int> bounded(1);
  bounded.put(2);
  CHECK_THROWS_AS(bounded.put(1, 10ms), braid::QueueFull);
  CHECK(bounded.get() == 2);
}
