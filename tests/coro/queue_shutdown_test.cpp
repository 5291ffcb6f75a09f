// Queue::shutdown (Python 3.13's queue.Queue.shutdown) for every queue kind.
#include <braid/coro/queue.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEMPLATE_TEST_CASE("after shutdown, put fails and get drains the items, then fails",
                   "[coro][queue][shutdown]", braid::Queue<int>, braid::LifoQueue<int>,
                   braid::PriorityQueue<int>, braid::JoinableQueue<int>) {
  TestType q;
  q.put(1);
  q.put(2);
  CHECK_FALSE(q.is_shutdown());
  q.shutdown();
  CHECK(q.is_shutdown());
  CHECK_THROWS_AS(q.put(3), braid::QueueShutDown);
  CHECK_THROWS_WITH(q.put(3), Catch::Contains("Queue.put") && Catch::Contains("shut down"));
  CHECK_THROWS_AS(q.try_put(3), braid::QueueShutDown);
  CHECK(q.size() == 2);
  const int next = q.peek();  // items already in are still handed out
  CHECK(q.get() == next);
  CHECK(q.try_get() == std::optional<int>(3 - next));
  CHECK(q.empty());
  CHECK_THROWS_AS(q.get(), braid::QueueShutDown);
  CHECK_THROWS_AS(q.get(1h), braid::QueueShutDown);  // no parking: at once
  CHECK_THROWS_AS(q.try_get(), braid::QueueShutDown);
  CHECK_THROWS_AS(q.peek(), braid::QueueShutDown);
  CHECK_THROWS_AS(q.try_peek(), braid::QueueShutDown);
  q.shutdown(true);  // again: harmless
  CHECK(q.is_shutdown());
}

TEST_CASE("shutdown wakes parked getters and peekers with QueueShutDown",
          "[coro][queue][shutdown]") {
  braid::Queue<int> q;
  std::vector<std::string> errors;
  auto waiter = [&](bool peek) {
    try {
      peek ? q.peek() : q.get();
      errors.push_back("returned");
    } catch (const braid::QueueShutDown& e) {
      errors.push_back(e.what());
    }
  };
  auto g1 = braid::spawn(waiter, false);
  auto p1 = braid::spawn(waiter, true);
  auto g2 = braid::spawn(waiter, false);
  braid::yield_now();  // all parked
  q.shutdown();
  braid::joinall(std::vector<braid::Task<void>>{g1, p1, g2});
  REQUIRE(errors.size() == 3);
  CHECK_THAT(errors[0], Catch::Contains("Queue.get") && Catch::Contains("shut down"));
  CHECK_THAT(errors[1], Catch::Contains("Queue.peek"));
  CHECK_THAT(errors[2], Catch::Contains("Queue.get"));
}

TEST_CASE("shutdown wakes parked putters with QueueShutDown; their items stay out",
          "[coro][queue][shutdown]") {
  braid::Queue<int> q(1);
  q.put(1);
  int refused = 0;
  auto putter = [&](int v) {
    try {
      q.put(v);
    } catch (const braid::QueueShutDown& e) {
      CHECK_THAT(e.what(), Catch::Contains("while put() waited"));
      ++refused;
    }
  };
  auto a = braid::spawn(putter, 2);
  auto b = braid::spawn(putter, 3);
  braid::yield_now();
  CHECK(q.full());
  q.shutdown();
  braid::joinall(std::vector<braid::Task<void>>{a, b});
  CHECK(refused == 2);
  CHECK(q.get() == 1);  // the item already in is still there; theirs are not
  CHECK_THROWS_AS(q.get(), braid::QueueShutDown);
}

TEST_CASE("a putter admitted just before shutdown has succeeded", "[coro][queue][shutdown]") {
  braid::Queue<int> q(1);
  q.put(1);
  bool ok = false;
  auto putter = braid::spawn([&] {
    q.put(2);
    ok = true;
  });
  braid::yield_now();
  CHECK(q.get() == 1);  // room: 2 moves in and the putter is woken...
  q.shutdown();         // ...but has not run yet when the queue shuts down
  putter.get();
  CHECK(ok);
  CHECK(q.get() == 2);
}

TEST_CASE("immediate shutdown drops the items and wakes everyone", "[coro][queue][shutdown]") {
  braid::Queue<std::string> q(2);
  q.put("a");
  q.put("b");
  auto putter = braid::spawn([&] { q.put("c"); });
  braid::yield_now();
  q.shutdown(true);
  CHECK(q.empty());
  CHECK_THROWS_AS(putter.get(), braid::QueueShutDown);
  CHECK_THROWS_AS(q.get(), braid::QueueShutDown);
}

TEST_CASE("JoinableQueue: immediate shutdown counts dropped items as done",
          "[coro][queue][shutdown]") {
  braid::JoinableQueue<int> q;
  for (int i = 0; i < 3; ++i) q.put(i);
  auto joiner = braid::spawn([&] { return q.join(); });
  braid::yield_now();
  CHECK_FALSE(joiner.ready());
  q.shutdown(true);
  CHECK(joiner.get());
  CHECK(q.unfinished() == 0);

  // An item taken but not yet marked done still counts (CPython's code; its docs say
  // join() returns regardless).
  braid::JoinableQueue<int> q2;
  q2.put(1);
  q2.put(2);
  CHECK(q2.get() == 1);
  q2.shutdown(true);
  CHECK(q2.unfinished() == 1);
  CHECK_FALSE(q2.join(10ms));
  q2.task_done();
  CHECK(q2.join(10ms));

  // A plain shutdown leaves the count alone: the items can still be drained and done.
  braid::JoinableQueue<int> q3;
  q3.put(1);
  q3.shutdown();
  CHECK_FALSE(q3.join(10ms));
  CHECK(q3.get() == 1);
  q3.task_done();
  CHECK(q3.join(10ms));
}

TEST_CASE("destroying a queue wakes its parked coroutines with QueueShutDown",
          "[coro][queue][shutdown]") {
  auto getq = std::make_unique<braid::Queue<int>>();
  auto getter = braid::spawn([q = getq.get()] { return q->get(); });
  auto peeker = braid::spawn([q = getq.get()] { return q->peek(); });
  auto putq = std::make_unique<braid::LifoQueue<int>>(1);
  putq->put(1);
  auto putter = braid::spawn([q = putq.get()] { q->put(2); });
  braid::yield_now();  // all three park
  getq.reset();
  putq.reset();
  CHECK_THROWS_AS(getter.get(), braid::QueueShutDown);
  CHECK_THROWS_AS(peeker.get(), braid::QueueShutDown);
  CHECK_THROWS_AS(putter.get(), braid::QueueShutDown);
}
