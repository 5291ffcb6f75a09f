#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <regex>

TEST_CASE("S19: greenlets print 11111111 22222222 33333333 44444444", "[seeds][coro]") {
  auto r = braid::test::run_example("s19_greenlet_switch");
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out ==
          "11111111\n22222222\n33333333\n44444444\ngr1 dead: False, gr2 dead: True\n");
}

TEST_CASE("S20: three coroutines interleave at every sleep(0)", "[seeds][coro]") {
  auto r = braid::test::run_example("s20_spawn_joinall");
  REQUIRE(r.exit_code == 0);
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    for (const char* g : {"g1", "g2", "g3"}) expected += std::string(g) + " " + std::to_string(i) + "\n";
  }
  REQUIRE(r.out == expected);
}

TEST_CASE("S21: ten 100 ms tasks take ~1 s one by one and ~0.1 s concurrently",
          "[seeds][coro]") {
  auto r = braid::test::run_example("s21_sync_vs_async", "--tasks 10 --sleep-ms 100");
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(synchronous: ([0-9.]+) s\nasynchronous: ([0-9.]+) s)")));
  const double sync_s = std::stod(m[1]);
  const double async_s = std::stod(m[2]);
  REQUIRE(sync_s >= 1.0);
  REQUIRE(sync_s < 1.0 + 1.0);      // generous: a shared 2-core VM
  REQUIRE(async_s >= 0.1);
  REQUIRE(async_s < 0.6);           // ten 100 ms sleeps overlap
  // Every task reports, in order for the sequential half.
  REQUIRE(r.out.find("Synchronous:\nTask 0 done\nTask 1 done\n") != std::string::npos);
  for (int i = 0; i < 10; ++i) {
    const std::string line = "Task " + std::to_string(i) + " done\n";
    auto first = r.out.find(line);
    REQUIRE(first != std::string::npos);
    REQUIRE(r.out.find(line, first + 1) != std::string::npos);  // once per half
  }
}

TEST_CASE("S21: bad arguments get a usage message", "[seeds][coro]") {
  auto r = braid::test::run_example("s21_sync_vs_async", "--tasks 0", true);
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.out, Catch::Contains("usage:"));
}
