// The hub runs the handlers one reactor poll completed in a batch (Hub::drain_handlers),
// and still lets coroutines, stop() and the embedding calls in between as before.
#include <braid/runtime.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

// "Handlers queued together run in one turn" is pinned in asio_private_test.cpp, with
// what the plain-Asio fallback does instead.

TEST_CASE("a coroutine woken by a handler runs before the next queued handler", "[runtime][hub]") {
  braid::Hub& hub = braid::Hub::current();
  std::vector<std::string> order;
  braid::Event ev;
  braid::spawn([&] {
    ev.wait();
    order.emplace_back("coroutine");
  });
  braid::spawn([&] {
    hub.post([&] {
      ev.set();
      order.emplace_back("first");
    });
    hub.post([&] { order.emplace_back("second"); });
  });
  hub.run();
  REQUIRE(order == std::vector<std::string>{"first", "coroutine", "second"});
}

TEST_CASE("stop() from a handler ends run() before the next queued handler", "[runtime][hub]") {
  braid::Hub& hub = braid::Hub::current();
  std::vector<int> seen;
  hub.post([&] {
    seen.push_back(1);
    hub.stop();
  });
  hub.post([&] { seen.push_back(2); });
  hub.run();
  REQUIRE(seen == std::vector<int>{1});
  hub.run();  // the rest
  REQUIRE(seen == std::vector<int>{1, 2});
}
