// Runs examples/seeds/s13_value: ordinary globals are copied, a Value is shared.
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

TEST_CASE("S13: Value is shared, globals are not", "[seeds][process]") {
  auto r = braid::test::run_example("s13_value");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "{'num': 1}\n{'num': 1}\n{'num': 1}\n1\n2\n3\n"
        "parent sees configs['num'] = 0 and num.value = 3\n");
}
