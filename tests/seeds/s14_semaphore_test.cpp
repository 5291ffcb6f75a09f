// Runs examples/seeds/s14_semaphore: never more than two holders at once.
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

TEST_CASE("S14: Semaphore(2) limits concurrent processes", "[seeds][process]") {
  auto r = braid::test::run_example("s14_semaphore");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() == 12);
  int inside = 0, peak = 0, acquired = 0;
  for (const auto& line : l) {
    if (line.find("获得锁运行") != std::string::npos) {
      ++acquired;
      peak = std::max(peak, ++inside);
    } else if (line.find("释放锁运行") != std::string::npos) {
      --inside;
    }
  }
  CHECK(acquired == 6);
  CHECK(peak == 2);
  CHECK(inside == 0);
}
