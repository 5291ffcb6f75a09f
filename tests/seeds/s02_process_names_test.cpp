// Runs examples/seeds/s02_process_names: given and default names, current_process().
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S2: named and default-named processes, joined at exit", "[seeds][process]") {
  auto r = braid::test::run_example("s02_process_names");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() == 5);
  CHECK(l[0] == "main is MainProcess");
  CHECK(count_of(l, "Starting foo_process ") == 1);
  CHECK(count_of(l, "Starting Process-2 ") == 1);   // the second Process created
  CHECK(count_of(l, "Exiting foo_process ") == 1);  // main did not join: exit did
  CHECK(count_of(l, "Exiting Process-2 ") == 1);
  CHECK(index_of(l, "Starting foo_process") < index_of(l, "Exiting foo_process"));
}
