// Runs examples/seeds/s08_barrier_lock: four lines, one per process; the two behind the
// Barrier pass it together.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S8: Barrier(2) and Lock across four processes", "[seeds][process]") {
  auto r = braid::test::run_example("s08_barrier_lock");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() == 4);
  for (const char* name : {"p1 - test_with_barrier", "p2 - test_with_barrier",
                           "p3 - test_without_barrier", "p4 - test_without_barrier"}) {
    CHECK(index_of(l, std::string("process ") + name + " ----> ") < l.size());
  }
}
