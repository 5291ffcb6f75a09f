#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <regex>

TEST_CASE("embed_host_loop: coroutines run between a host's frames", "[seeds][embed]") {
  auto r = braid::test::run_example("embed_host_loop", "--frames 30");
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(ticks while rendering: (\d+))")));
  REQUIRE(std::stoi(m[1]) >= 20);  // ~480 ms of frames, a tick every 5 ms (generous)
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(worst frame lateness: (\d+) ms)")));
  REQUIRE(std::stoi(m[1]) < 200);
}

TEST_CASE("embed_asio: Asio handlers and coroutines share the application's loop",
          "[seeds][embed]") {
  auto r = braid::test::run_example("embed_asio");
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out == "asio handler ticks: 5\nbraid coroutine steps: 3\n");
}

TEST_CASE("embed_thread: other threads get results from a background hub", "[seeds][embed]") {
  auto r = braid::test::run_example("embed_thread");
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out ==
          "worker 0 got 0\nworker 1 got 1\nworker 2 got 4\nworker 3 got 9\n");
}
