// Runs examples/seeds/s15_event: the order of events is the seed's.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

TEST_CASE("S15: Event set/clear/wait(timeout) between processes", "[seeds][process]") {
  auto r = braid::test::run_example("s15_event");
  REQUIRE(r.exit_code == 0);
  auto l = lines_of(r.out);
  REQUIRE(l.size() == 7);
  const auto main_says = index_of(l, "主进程:谁等我下");
  const auto a_waits = index_of(l, "进程A:我们是兄弟");
  const auto b_waits = index_of(l, "进程B:好吧,最多等你5秒");
  const auto b_goes = index_of(l, "进程B:我要继续往前走了");
  const auto main_back = index_of(l, "好的,我赶上了");
  const auto a_goes = index_of(l, "进程A:好的,是兄弟一起走");
  const auto main_exit = index_of(l, "主进程:退出");
  CHECK(main_says == 0);
  CHECK(a_waits < main_back);
  CHECK(b_waits < b_goes);
  CHECK(b_goes < main_back);  // B's 0.5 s timeout runs out before main's 0.8 s
  CHECK(main_back < a_goes);  // A waits without a timeout for the second set()
  CHECK(main_exit == 6);
}
