// Runs examples/seeds/s10_pipe: duplex exchanges, FIFO order, duplex=False and EOFError.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S10: Pipe send/recv, FIFO, one-way pipes and EOFError", "[seeds][process]") {
  auto r = braid::test::run_example("s10_pipe");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() >= 26);
  CHECK(l[0] == "from father");
  CHECK(l[1] == "from son");
  CHECK(l[2] == "你好我是父进程");
  CHECK(l[3] == "你好,我是子进程");
  std::vector<std::string> t2got, t1got;
  for (const auto& line : l) {
    if (auto p = line.find("task2 接收:"); p != std::string::npos)
      t2got.push_back(line.substr(p + 13));
    if (auto p = line.find("task1 接收:"); p != std::string::npos)
      t1got.push_back(line.substr(p + 13));
  }
  CHECK(t2got == std::vector<std::string>{"task1-0", "task1-1", "task1-2", "task1-3", "task1-4"});
  CHECK(t1got == std::vector<std::string>{"task2-0", "task2-1", "task2-2", "task2-3", "task2-4"});
  CHECK(l[l.size() - 2] == "received: one-way message");
  CHECK(l.back() == "EOFError: the sending end is closed");
}
