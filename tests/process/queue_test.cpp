#include <braid/process/queue.hpp>

#include <braid/coro.hpp>
#include <braid/process/process.hpp>
#include <braid/process/synchronize.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

TEST_CASE("Queue: FIFO, qsize, empty, full in one process", "[process][unit]") {
  mp::Queue<std::string> q(3);
  REQUIRE(q.empty());
  REQUIRE(q.maxsize() == 3);
  q.put("a");
  q.put("b");
  q.put("c");
  REQUIRE(q.qsize() == 3);
  REQUIRE(q.full());
  REQUIRE_FALSE(q.try_put("d"));
  CHECK(q.get() == "a");
  CHECK(q.get() == "b");
  CHECK(q.get() == "c");
  REQUIRE(q.empty());
  REQUIRE_FALSE(q.try_get());
  REQUIRE_THROWS_AS(q.get_nowait(), braid::QueueEmpty);
}

TEST_CASE("Queue timeouts: QueueFull and QueueEmpty, no earlier than the timeout",
          "[process][unit]") {
  mp::Queue<int> q(1);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(q.get(50ms), braid::QueueEmpty);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  q.put(1);
  t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(q.put(2, 50ms), braid::QueueFull);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  REQUIRE(q.qsize() == 1);  // the timed-out item was not added
  CHECK(q.get(0s) == 1);
}

TEST_CASE("Queue: an item larger than the ring is length_error; wrap-around works",
          "[process][unit]") {
  mp::QueueOptions o;
  o.capacity_bytes = 256;
  mp::Queue<std::string> q(0, o);
  REQUIRE_THROWS_AS(q.put(std::string(300, 'x')), std::length_error);
  for (int round = 0; round < 50; ++round) {  // records straddle the ring's end often
    q.put(std::string(70 + round % 13, static_cast<char>('a' + round % 26)));
    q.put(std::to_string(round));
    CHECK(q.get() == std::string(70 + round % 13, static_cast<char>('a' + round % 26)));
    CHECK(q.get() == std::to_string(round));
  }
  // Byte-full with no item limit: put times out.
  q.put(std::string(200, 'y'));
  REQUIRE_THROWS_AS(q.put(std::string(100, 'z'), 20ms), braid::QueueFull);
}

TEST_CASE("Queue across processes: many producers and consumers, nothing lost or duplicated",
          "[process][unit][fork]") {
  constexpr int kProducers = 3, kConsumers = 3, kPerProducer = 2000;
  mp::Queue<std::pair<int, int>> q(50);  // bounded: producers park too
  mp::Queue<std::vector<std::pair<int, int>>> results;
  std::vector<std::unique_ptr<mp::Process>> procs;
  for (int p = 0; p < kProducers; ++p) {
    procs.push_back(std::make_unique<mp::Process>(
        [](mp::Queue<std::pair<int, int>> q, int id) {
          for (int i = 0; i < kPerProducer; ++i) q.put({id, i});
        },
        q, p));
  }
  for (int c = 0; c < kConsumers; ++c) {
    procs.push_back(std::make_unique<mp::Process>(
        [](mp::Queue<std::pair<int, int>> q, mp::Queue<std::vector<std::pair<int, int>>> out) {
          std::vector<std::pair<int, int>> got;
          for (;;) {
            auto item = q.get();
            if (item.first < 0) break;
            got.push_back(item);
          }
          out.put(got);
        },
        q, results));
  }
  for (auto& p : procs) p->start();
  for (int p = 0; p < kProducers; ++p) REQUIRE(procs[p]->join(kGenerous));
  for (int c = 0; c < kConsumers; ++c) q.put({-1, -1});
  std::vector<std::vector<int>> seen(kProducers);
  for (int c = 0; c < kConsumers; ++c) {
    const auto got = results.get(kGenerous);
    std::vector<int> last(kProducers, -1);
    for (auto [id, i] : got) {
      CHECK(i > last[id]);  // FIFO per producer, as seen by each consumer
      last[id] = i;
      seen[id].push_back(i);
    }
  }
  for (auto& p : procs) REQUIRE(p->join(kGenerous));
  for (int p = 0; p < kProducers; ++p) {
    auto& v = seen[p];
    std::sort(v.begin(), v.end());
    REQUIRE(v.size() == kPerProducer);
    CHECK(std::adjacent_find(v.begin(), v.end()) == v.end());
    CHECK(v.front() == 0);
    CHECK(v.back() == kPerProducer - 1);
  }
  CHECK(q.empty());
  CHECK(braid::test::no_children_left());
}

TEST_CASE("Queue::get parks only the calling coroutine", "[process][unit][fork]") {
  mp::Queue<int> q;
  mp::Event go;
  mp::Process p(
      [](mp::Queue<int> q, mp::Event go) {
        go.wait();
        q.put(7);
      },
      q, go);
  p.start();
  auto waiter = braid::spawn([&] { return q.get(kGenerous); });
  CHECK(braid::test::others_run_while_parked(waiter));
  go.set();
  REQUIRE(waiter.get() == 7);
  REQUIRE(p.join(kGenerous));
}

TEST_CASE("Queue: a killed getter loses no item and no wake-up", "[process][unit]") {
  mp::Queue<int> q;
  braid::Event parked;
  auto victim = braid::spawn([&] {
    parked.set();
    return q.get();
  });
  auto other = braid::spawn([&] { return q.get(kGenerous); });
  REQUIRE(parked.wait(kGenerous));
  braid::yield_now();
  victim.kill();
  q.put(5);
  REQUIRE(other.get() == 5);
}

TEST_CASE("JoinableQueue: join waits for task_done", "[process][unit][fork]") {
  mp::JoinableQueue<int> q;
  REQUIRE(q.join(0s));
  for (int i = 0; i < 5; ++i) q.put(i);
  REQUIRE_FALSE(q.join(30ms));
  mp::Process worker(
      [](mp::JoinableQueue<int> q) {
        for (int i = 0; i < 5; ++i) {
          (void)q.get();
          q.task_done();
        }
      },
      q);
  worker.start();
  REQUIRE(q.join(kGenerous));
  REQUIRE(worker.join(kGenerous));
  REQUIRE_THROWS_AS(q.task_done(), std::logic_error);
}

TEST_CASE("Queue leaks no descriptors", "[process][unit]") {
  const std::size_t before = braid::test::open_fd_count();
  {
    mp::JoinableQueue<int> q(3);
    mp::Queue<int> copy = q;
    copy.put(1);
    CHECK(q.get() == 1);
  }
  CHECK(braid::test::open_fd_count() == before);
}

TEST_CASE("Queue::close: put and get refused in this process, items kept for others",
          "[process][unit][fork]") {
  mp::Queue<int> q;
  mp::Process producer(
      [](mp::Queue<int> q) {
        for (int i = 0; i < 5; ++i) q.put(i);
        q.close();
        q.join_thread();  // nothing buffered: returns at once
        bool refused = false;
        try {
          q.put(99);
        } catch (const std::logic_error&) {
          refused = true;
        }
        ::_exit(refused ? 0 : 7);
      },
      q);
  producer.start();
  REQUIRE(producer.join(kGenerous));
  REQUIRE(producer.exitcode() == 0);
  // Everything the producer put before close() arrives; its close did not reach us.
  for (int i = 0; i < 5; ++i) CHECK(q.get(kGenerous) == i);
  CHECK(q.empty());
}

TEST_CASE("Queue::close in this process: every put and get variant is a logic_error",
          "[process][unit]") {
  mp::Queue<int> q;
  q.put(1);
  REQUIRE_THROWS_WITH(q.join_thread(), Catch::Contains("not closed"));
  q.cancel_join_thread();   // accepted at any time
  mp::Queue<int> copy = q;  // a copy in this process shares the closed flag
  q.close();
  q.close();  // idempotent
  for (auto call : std::vector<std::function<void()>>{
           [&] { copy.put(2); }, [&] { (void)q.try_put(2); }, [&] { q.put_nowait(2); },
           [&] { (void)q.get(); }, [&] { (void)copy.try_get(); }, [&] { (void)q.get_nowait(); }}) {
    REQUIRE_THROWS_WITH(call(), Catch::Contains("the queue is closed"));
  }
  CHECK(q.qsize() == 1);  // still answers
  CHECK_FALSE(q.empty());
  CHECK_FALSE(q.full());
  q.join_thread();
}
