// Runs examples/seeds/s04_terminate: terminate() gives exit code -15.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S4: terminate, is_alive and exitcode == -15", "[seeds][process]") {
  auto r = braid::test::run_example("s04_terminate");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(index_of(l, "Process before execution:") < l.size());
  CHECK(l[index_of(l, "Process before execution:")].ends_with("initial> False"));
  CHECK(l[index_of(l, "Process running:")].ends_with("True"));
  CHECK(l[index_of(l, "Process joined:")].ends_with("exitcode=-15> False"));
  CHECK(l.back() == "Process exit code: -15");
  CHECK(count_of(l, "Finished function") == 0);  // killed during its sleep
}
