// Runs examples/seeds/s06_queue_producer_consumer: every item produced is consumed once,
// in order, through a bounded cross-process queue.
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

TEST_CASE("S6: producer/consumer over a bounded Queue", "[seeds][process]") {
  auto r = braid::test::run_example("s06_queue_producer_consumer");
  REQUIRE(r.exit_code == 0);
  std::vector<int> produced, consumed;
  for (const auto& line : lines_of(r.out)) {
    int item;
    if (std::sscanf(line.c_str(), "Process Producer : item %d appended", &item) == 1) {
      produced.push_back(item);
    } else if (std::sscanf(line.c_str(), "Process Consumer : item %d popped", &item) == 1) {
      consumed.push_back(item);
    } else if (line.rfind("The size of queue is ", 0) == 0) {
      CHECK(std::stoi(line.substr(21)) <= 5);  // maxsize=5
    }
  }
  REQUIRE(produced.size() == 10);
  CHECK(consumed == produced);
  CHECK(lines_of(r.out).back() == "the queue is empty");
}
