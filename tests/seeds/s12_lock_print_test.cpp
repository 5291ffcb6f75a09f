// Runs examples/seeds/s12_lock_print: output under a shared Lock is never interleaved.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S12: a Lock serialises the output of several processes", "[seeds][process]") {
  auto r = braid::test::run_example("s12_lock_print");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() == 22);
  for (int i = 0; i < 10; ++i) CHECK(l[i] == "hello multiprocessing");
  // Each task's four lines are contiguous.
  for (int block = 0; block < 3; ++block) {
    const std::string first = l[10 + block * 4];
    CHECK(first.rfind("task", 0) == 0);
    for (int k = 1; k < 4; ++k) CHECK(l[10 + block * 4 + k] == first);
  }
}
