// Queue::peek / try_peek (gevent's Queue.peek / peek_nowait) for every queue kind.
#include <braid/coro/queue.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {
template <class Q>
concept Peekable = requires(Q& q) {
  q.peek();
};
}  // namespace

TEMPLATE_TEST_CASE("peek returns the next item without removing it", "[coro][queue][peek]",
                   braid::Queue<int>, braid::LifoQueue<int>, braid::PriorityQueue<int>,
                   braid::JoinableQueue<int>) {
  TestType q;
  CHECK_FALSE(q.try_peek().has_value());
  q.put(2);
  q.put(1);
  q.put(3);
  // The item get() would return next: oldest, newest or smallest.
  const int next = std::is_same_v<TestType, braid::LifoQueue<int>>       ? 3
                   : std::is_same_v<TestType, braid::PriorityQueue<int>> ? 1
                                                                         : 2;
  CHECK(q.peek() == next);
  CHECK(q.try_peek() == std::optional<int>(next));
  CHECK(q.size() == 3);
  CHECK(q.get() == next);
  CHECK(q.size() == 2);
}

TEST_CASE("peek parks while empty and wakes on put, leaving the item", "[coro][queue][peek]") {
  braid::Queue<std::string> q;
  auto peeker = braid::spawn([&] { return q.peek(); });
  braid::yield_now();
  CHECK_FALSE(peeker.ready());
  q.put("x");
  CHECK(peeker.get() == "x");
  CHECK(q.size() == 1);
  CHECK(q.get() == "x");
}

TEST_CASE("peek times out with QueueEmpty; try_peek never parks", "[coro][queue][peek]") {
  braid::Queue<int> q;
  const auto took = braid::test::time_of([&] { CHECK_THROWS_AS(q.peek(20ms), braid::QueueEmpty); });
  CHECK(took >= 20ms);
  CHECK_THROWS_WITH(q.peek(1ms), Catch::Contains("Queue.peek"));
  CHECK_FALSE(q.try_peek().has_value());
  // The timed-out peekers left nothing behind: a put goes into the queue.
  q.put(4);
  CHECK(q.size() == 1);
}

TEST_CASE("parked peekers and getters are served in arrival order", "[coro][queue][peek]") {
  braid::Queue<int> q;
  std::vector<std::string> log;
  auto peek1 = braid::spawn([&] { log.push_back("peek1:" + std::to_string(q.peek())); });
  auto getter = braid::spawn([&] { log.push_back("get:" + std::to_string(q.get())); });
  auto peek2 = braid::spawn([&] { log.push_back("peek2:" + std::to_string(q.peek())); });
  braid::yield_now();  // all three park, in this order
  q.put(1);            // peek1 sees it, the getter takes it; peek2 waits on
  braid::joinall(std::vector<braid::Task<void>>{peek1, getter});
  CHECK(log == std::vector<std::string>{"peek1:1", "get:1"});
  CHECK(q.empty());
  CHECK_FALSE(peek2.ready());
  q.put(2);
  peek2.join();
  CHECK(log.back() == "peek2:2");
  CHECK(q.get() == 2);
}

TEST_CASE("a peeker killed while parked leaves the queue usable", "[coro][queue][peek][kill]") {
  braid::Queue<int> q;
  auto doomed = braid::spawn([&] { return q.peek(); });
  braid::yield_now();
  doomed.kill();
  q.put(5);
  CHECK(q.get() == 5);
}

TEST_CASE("a queue of move-only items still works (peek needs a copyable type)",
          "[coro][queue][peek]") {
  braid::Queue<std::unique_ptr<int>> q;
  auto getter = braid::spawn([&] { return *q.get(); });
  braid::yield_now();
  q.put(std::make_unique<int>(9));
  CHECK(getter.get() == 9);
  STATIC_REQUIRE_FALSE(Peekable<braid::Queue<std::unique_ptr<int>>>);
  STATIC_REQUIRE(Peekable<braid::Queue<int>>);
}
