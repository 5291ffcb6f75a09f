// Runs examples/seeds/s16_cpu_bound: the same CPU-bound work sequentially and in two
// processes. CI machines have two (shared) cores, so the check is loose: the parallel run
// must beat the sequential one in at least one of six attempts (a neighbour holding one
// core for a moment makes the two runs equal).
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using braid::test::count_of;
using braid::test::index_of;
using braid::test::lines_of;

#include <cstdio>

TEST_CASE("S16: CPU-bound work in two processes beats running it twice", "[seeds][process][slow]") {
  bool faster = false;
  for (int attempt = 0; attempt < 6 && !faster; ++attempt) {
    auto r = braid::test::run_example("s16_cpu_bound", "20000000");
    REQUIRE(r.exit_code == 0);
    auto l = lines_of(r.out);
    REQUIRE(l.size() == 7);
    CHECK(l[0].rfind("父进程pid为 ", 0) == 0);
    CHECK(count_of(l, l[1]) == 2);  // the two sequential runs share the parent's pid
    double seq = 0, par = 0;
    REQUIRE(std::sscanf(l[3].c_str(), "顺序执行耗时%lf", &seq) == 1);
    REQUIRE(std::sscanf(l[6].c_str(), "多进程并发执行耗时%lf", &par) == 1);
    CHECK(l[4] != l[1]);  // the children have pids of their own
    UNSCOPED_INFO("attempt " << attempt << ": sequential " << seq << " s, parallel " << par
                             << " s, ratio " << par / seq);
    faster = par < seq;
  }
  CHECK(faster);
}
