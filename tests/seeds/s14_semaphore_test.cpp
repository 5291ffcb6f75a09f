// Runs examples/seeds/s14_semaphore: never more than two holders at once.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S14: Semaphore(2) limits concurrent processes", "[seeds][process]") {
  auto r = braid::test::run_example("s14_semaphore");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() == 12);
  int inside = 0, peak = 0, acquired = 0;
  for (const auto& line : l) {
    if (line.find("获得锁运行") != std::string::npos) {
      ++acquired;
      peak = std::max(peak, ++inside);
    } else if (line.find("释放锁运行") != std::string::npos) {
      --inside;
    }
  }
  CHECK(acquired == 6);
  CHECK(peak == 2);
  CHECK(inside == 0);
}
