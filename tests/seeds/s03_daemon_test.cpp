// Runs examples/seeds/s03_daemon: the daemon child dies with the parent, the other is
// waited for.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S3: daemon children are terminated at exit, others joined", "[seeds][process]") {
  auto r = braid::test::run_example("s03_daemon");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  CHECK(count_of(l, "Starting NO_background_process ") == 1);
  CHECK(count_of(l, "Exiting NO_background_process ") == 1);
  CHECK(count_of(l, "Exiting background_process ") == 0);
}
