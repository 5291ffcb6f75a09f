// Runs examples/seeds/s06_queue_producer_consumer: every item produced is consumed once,
// in order, through a bounded cross-process queue.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

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
