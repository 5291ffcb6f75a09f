#include <braid/coro/hub_thread.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("a background hub runs work submitted from other threads", "[coro][embed]") {
  braid::HubThread io;
  std::vector<std::future<int>> results;
  std::vector<std::thread> clients;
  std::mutex m;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto f = io.submit([t, i] {
          braid::sleep(1ms);  // blocks cooperatively on the hub's thread
          return t * 100 + i;
        });
        std::lock_guard g(m);
        results.push_back(std::move(f));
      }
    });
  }
  for (auto& c : clients) c.join();
  int sum = 0;
  for (auto& f : results) sum += f.get();
  int expected = 0;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 25; ++i) expected += t * 100 + i;
  REQUIRE(sum == expected);
}

TEST_CASE("submitted work runs on the hub's thread, exceptions travel back", "[coro][embed]") {
  braid::HubThread io;
  auto where = io.submit([] { return std::this_thread::get_id(); });
  REQUIRE(where.get() != std::this_thread::get_id());
  auto failing = io.submit([]() -> int { throw std::runtime_error("from the hub thread"); });
  REQUIRE_THROWS_WITH(failing.get(), "from the hub thread");
}

TEST_CASE("stopping a background hub unwinds its coroutines", "[coro][embed]") {
  std::atomic<bool> unwound{false};
  std::future<void> forever;
  {
    braid::HubThread io;
    std::promise<void> started;
    auto s = started.get_future();
    forever = io.submit([&] {
      struct Flag {
        std::atomic<bool>* f;
        ~Flag() { *f = true; }
      } flag{&unwound};
      started.set_value();
      braid::sleep(1h);
    });
    s.wait();
  }
  REQUIRE(unwound);
  REQUIRE_THROWS_WITH(forever.get(), Catch::Contains("killed"));
}
