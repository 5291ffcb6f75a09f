// Runs examples/seeds/s05_subclass: a Process subclass overriding run().
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S5: subclass run() in five processes", "[seeds][process]") {
  auto r = braid::test::run_example("s05_subclass");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "called run method in process: Process-1\ncalled run method in process: Process-2\n"
        "called run method in process: Process-3\ncalled run method in process: Process-4\n"
        "called run method in process: Process-5\n");
}
