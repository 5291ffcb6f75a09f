// Runs examples/seeds/s08_barrier_lock: four lines, one per process; the two behind the
// Barrier pass it together.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace {
[[maybe_unused]] std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}
[[maybe_unused]] std::size_t count_of(const std::vector<std::string>& v, const std::string& line) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), line));
}
[[maybe_unused]] std::size_t index_of(const std::vector<std::string>& v,
                                      const std::string& needle) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i].find(needle) != std::string::npos) return i;
  }
  return v.size();
}
}  // namespace

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
