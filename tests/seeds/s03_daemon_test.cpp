// Runs examples/seeds/s03_daemon: the daemon child dies with the parent, the other is
// waited for.
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

TEST_CASE("S3: daemon children are terminated at exit, others joined", "[seeds][process]") {
  auto r = braid::test::run_example("s03_daemon");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  CHECK(count_of(l, "Starting NO_background_process ") == 1);
  CHECK(count_of(l, "Exiting NO_background_process ") == 1);
  CHECK(count_of(l, "Exiting background_process ") == 0);
}
