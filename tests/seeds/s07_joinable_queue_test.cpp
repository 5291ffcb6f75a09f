// Runs examples/seeds/s07_joinable_queue: join() returns after ten task_done() calls.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S7: JoinableQueue task_done/join", "[seeds][process]") {
  auto r = braid::test::run_example("s07_joinable_queue");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() == 11);
  CHECK(l.back() == "All tasks done");
  std::vector<int> items;
  for (std::size_t i = 0; i + 1 < l.size(); ++i) {
    const auto pos = l[i].find(" processed item ");
    REQUIRE(pos != std::string::npos);
    items.push_back(std::stoi(l[i].substr(pos + 16)));
  }
  std::sort(items.begin(), items.end());
  CHECK(items == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}
