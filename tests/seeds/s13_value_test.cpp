// Runs examples/seeds/s13_value: ordinary globals are copied, a Value is shared.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S13: Value is shared, globals are not", "[seeds][process]") {
  auto r = braid::test::run_example("s13_value");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "{'num': 1}\n{'num': 1}\n{'num': 1}\n1\n2\n3\n"
        "parent sees configs['num'] = 0 and num.value = 3\n");
}
