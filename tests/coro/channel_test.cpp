// Channel (gevent.queue.Channel): a rendezvous, maxsize 0.
#include <braid/coro/channel.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("Channel put parks until a getter takes the item", "[coro][channel]") {
  braid::Channel<std::string> ch;
  CHECK(ch.size() == 0);
  CHECK(ch.empty());
  CHECK(ch.full());
  bool put_returned = false;
  auto putter = braid::spawn([&] {
    ch.put("hello");
    put_returned = true;
  });
  braid::yield_now();
  CHECK_FALSE(put_returned);  // nobody took it yet
  CHECK(ch.balance() == 1);
  CHECK(ch.get() == "hello");
  CHECK(ch.balance() == 0);
  putter.join();
  CHECK(put_returned);
}

TEST_CASE("Channel get parks until a putter offers an item", "[coro][channel]") {
  braid::Channel<std::unique_ptr<int>> ch;  // move-only items pass through
  auto getter = braid::spawn([&] { return *ch.get(); });
  braid::yield_now();
  CHECK_FALSE(getter.ready());
  CHECK(ch.balance() == -1);
  ch.put(std::make_unique<int>(7));  // a getter waits: returns at once
  CHECK(ch.balance() == 0);
  CHECK(getter.get() == 7);
}

TEST_CASE("Channel serves putters and getters in order", "[coro][channel]") {
  braid::Channel<int> ch;
  std::vector<braid::Task<void>> putters;
  for (int i = 0; i < 5; ++i) putters.push_back(braid::spawn([&ch, i] { ch.put(i); }));
  braid::yield_now();
  CHECK(ch.balance() == 5);
  std::vector<int> got;
  for (int i = 0; i < 5; ++i) got.push_back(ch.get());
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
  braid::joinall(putters);

  std::vector<int> order;
  std::vector<braid::Task<void>> getters;
  for (int i = 0; i < 3; ++i)
    getters.push_back(braid::spawn([&, i] { order.push_back(i * 10 + ch.get()); }));
  braid::yield_now();
  for (int v = 1; v <= 3; ++v) ch.put(v);
  braid::joinall(getters);
  CHECK(order == std::vector<int>{1, 12, 23});
}

TEST_CASE("Channel timeouts raise QueueFull / QueueEmpty and keep the item", "[coro][channel]") {
  braid::Channel<std::string> ch;
  const auto took = braid::test::time_of(
      [&] { CHECK_THROWS_WITH(ch.put("x", 20ms), Catch::Contains("Channel.put: no getter")); });
  CHECK(took >= 20ms);
  CHECK(ch.balance() == 0);  // the timed-out putter is gone: nothing to take
  CHECK_FALSE(ch.try_get().has_value());
  CHECK_THROWS_AS(ch.put("x", 1ms), braid::QueueFull);
  CHECK_THROWS_AS(ch.get(10ms), braid::QueueEmpty);
  CHECK(ch.balance() == 0);
  CHECK_FALSE(ch.try_put("y"));  // no getter parked
}

TEST_CASE("Channel try_put / try_get meet a parked partner only", "[coro][channel]") {
  braid::Channel<int> ch;
  auto getter = braid::spawn([&] { return ch.get(); });
  braid::yield_now();
  CHECK(ch.try_put(4));
  CHECK(getter.get() == 4);
  auto putter = braid::spawn([&] { ch.put(5); });
  braid::yield_now();
  CHECK(ch.try_get() == std::optional<int>(5));
  putter.join();
  CHECK_FALSE(ch.try_get().has_value());
}

TEST_CASE("a Channel getter or putter killed while parked takes nothing with it",
          "[coro][channel][kill]") {
  braid::Channel<int> ch;
  auto g = braid::spawn([&] { return ch.get(); });
  braid::yield_now();
  g.kill();
  CHECK(ch.balance() == 0);
  auto p = braid::spawn([&] { ch.put(2); });
  braid::yield_now();
  p.kill();
  CHECK(ch.balance() == 0);
  CHECK_FALSE(ch.try_get().has_value());
  auto g2 = braid::spawn([&] { return ch.get(); });
  braid::yield_now();
  ch.put(3);  // goes to the live getter, not the killed one
  CHECK(g2.get() == 3);
}

TEST_CASE("Channel shutdown wakes parked putters and getters; later calls fail",
          "[coro][channel][shutdown]") {
  braid::Channel<int> getters_side;
  auto g = braid::spawn([&] { return getters_side.get(); });
  braid::yield_now();
  getters_side.shutdown();
  CHECK_THROWS_WITH(g.get(), Catch::Contains("Channel.get") && Catch::Contains("shut down"));
  CHECK(getters_side.is_shutdown());

  braid::Channel<int> putters_side;
  auto p = braid::spawn([&] { putters_side.put(1); });
  braid::yield_now();
  putters_side.shutdown(true);  // immediate: the same for a Channel
  CHECK_THROWS_WITH(p.get(), Catch::Contains("while put() waited"));
  CHECK(putters_side.balance() == 0);
  CHECK_THROWS_AS(putters_side.put(2), braid::QueueShutDown);
  CHECK_THROWS_AS(putters_side.get(), braid::QueueShutDown);
  CHECK_THROWS_AS(putters_side.try_put(2), braid::QueueShutDown);
  CHECK_THROWS_AS(putters_side.try_get(), braid::QueueShutDown);
}

TEST_CASE("destroying a Channel wakes its parked coroutines with QueueShutDown",
          "[coro][channel][shutdown]") {
  auto for_getter = std::make_unique<braid::Channel<int>>();
  auto for_putter = std::make_unique<braid::Channel<int>>();
  auto getter = braid::spawn([ch = for_getter.get()] { return ch->get(); });
  auto putter = braid::spawn([ch = for_putter.get()] { ch->put(1); });
  braid::yield_now();
  for_getter.reset();
  for_putter.reset();
  CHECK_THROWS_AS(getter.get(), braid::QueueShutDown);
  CHECK_THROWS_AS(putter.get(), braid::QueueShutDown);
}
