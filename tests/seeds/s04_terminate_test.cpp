// Runs examples/seeds/s04_terminate: terminate() gives exit code -15.
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
