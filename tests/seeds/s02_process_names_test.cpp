// Runs examples/seeds/s02_process_names: given and default names, current_process().
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
