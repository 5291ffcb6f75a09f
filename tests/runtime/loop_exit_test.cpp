#include <braid/runtime/errors.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("waiting on what nothing can wake is LoopExit, not a hang", "[runtime][loopexit]") {
  braid::Event never;
  REQUIRE_THROWS_AS(never.wait(), braid::LoopExit);
}

TEST_CASE("LoopExit names what is parked and on what", "[runtime][loopexit]") {
  braid::Queue<int> q;
  braid::Lock lock;
  lock.lock();
  auto reader = braid::spawn(braid::SpawnOptions{"reader#3"}, [&] { return q.get(); });
  auto locker = braid::spawn(braid::SpawnOptions{"locker"}, [&] { lock.lock(); });
  try {
    reader.get();
    FAIL("no LoopExit");
  } catch (const braid::LoopExit& e) {
    const std::string msg = e.what();
    REQUIRE_THAT(msg, Catch::Contains("would block forever"));
    REQUIRE_THAT(msg, Catch::Contains("'main' waits on Task.join"));
    REQUIRE_THAT(msg, Catch::Contains("'reader#3'"));
    REQUIRE_THAT(msg, Catch::Contains("Queue.get"));
    REQUIRE_THAT(msg, Catch::Contains("'locker'"));
    REQUIRE_THAT(msg, Catch::Contains("Semaphore.acquire"));
  }
  // The waiter was unregistered cleanly: the loop still works afterwards.
  q.put(5);
  REQUIRE(reader.get() == 5);
  lock.unlock();
  REQUIRE(locker.join(1s));
}

TEST_CASE("a pending timer is work: no LoopExit while a sleeper will wake us",
          "[runtime][loopexit]") {
  braid::Event ev;
  braid::spawn([&] {
    braid::sleep(20ms);
    ev.set();
  });
  REQUIRE(ev.wait());
}

TEST_CASE("a cancelled Timeout does not delay LoopExit", "[runtime][loopexit]") {
  {
    braid::Timeout far(1h);
  }
  braid::Event never;
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(never.wait(), braid::LoopExit);
  REQUIRE(std::chrono::steady_clock::now() - t0 < 1s);
}
