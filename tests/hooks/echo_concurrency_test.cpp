// Blocking C clients (in a shared library) on braid coroutines run concurrently.
#include <catch2/catch.hpp>

#include <braid/hooks/hooks.hpp>

#include "blocking_client.h"
#include "hooks_test_support.hpp"

#include <string>
#include <vector>

using namespace braid::test;

TEST_CASE("the hooks are in effect for the program and its shared libraries") {
  CHECK(braid::hooks::installed());
}

TEST_CASE("50 blocking C echo clients on coroutines take one round trip, not 50") {
  constexpr auto kDelay = 200ms;  // the server's pause before each reply
  DelayedEchoServer server(kDelay);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<braid::Task<std::string>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(braid::spawn([&server, i] {
      const std::string msg = "hello " + std::to_string(i);
      std::string out(msg.size(), '\0');
      const int rc = bc_echo(server.port(), msg.c_str(), out.data());
      return rc == 0 ? out : "error " + std::to_string(rc);
    }));
  }
  for (int i = 0; i < 50; ++i) CHECK(clients[i].get() == "hello " + std::to_string(i));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= kDelay);
  CHECK(elapsed < kDelay + 2s);  // serially: 50 x 200 ms = 10 s
}
