// Runs examples/seeds/s01_process_basic: what Python prints for the same snippet.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S1: five processes, each joined in turn", "[seeds][process]") {
  auto r = braid::test::run_example("s01_process_basic");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "called function in process: 0\ncalled function in process: 1\n"
        "called function in process: 2\ncalled function in process: 3\n"
        "called function in process: 4\n");
}
