// Runs examples/seeds/s05_subclass: a Process subclass overriding run().
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

TEST_CASE("S5: subclass run() in five processes", "[seeds][process]") {
  auto r = braid::test::run_example("s05_subclass");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "called run method in process: Process-1\ncalled run method in process: Process-2\n"
        "called run method in process: Process-3\ncalled run method in process: Process-4\n"
        "called run method in process: Process-5\n");
}
