// Seed S9 (multiprocessing.Pool) in all its forms: each example is run and its output
// checked.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <regex>
#include <set>
#include <string>

namespace {

std::string squares(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(i * i);
  return s + "]";
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("s09 map: Pool(4).map(square, range(100))", "[seeds][pool]") {
  auto r = braid::test::run_example("s09_pool_map");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Pool : " + squares(100) + "\n");
}

TEST_CASE("s09 apply: one task at a time in a worker", "[seeds][pool]") {
  auto r = braid::test::run_example("s09_pool_apply");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "apply(foo, 0) = 0\napply(foo, 1) = 10\napply(foo, 2) = 20\n"
        "worker pid differs from parent: True\n");
}

TEST_CASE("s09 apply_async: tasks in workers, callbacks in the parent", "[seeds][pool]") {
  auto r = braid::test::run_example("s09_pool_apply_async", "50");
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("^parent: ([0-9]+)\n")));
  const std::string parent = m[1];
  CHECK(count(r.out, "-->exec done: ok " + parent + "\n") == 10);
  std::set<std::string> workers;
  const std::regex line("process: ([0-9]+)\n");
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), line), end; it != end; ++it) {
    workers.insert((*it)[1]);
  }
  CHECK(count(r.out, "process: ") == 10);
  CHECK(workers.count(parent) == 0);
  CHECK(workers.size() <= 5);
  // Each task prints before its callback does: the first line after "parent" is a task's.
  CHECK(r.out.find("process: ") < r.out.find("-->exec done"));
}

TEST_CASE("s09 close/join: ten tasks on three workers run in waves of three", "[seeds][pool]") {
  auto r = braid::test::run_example("s09_pool_close_join", "300");
  REQUIRE(r.exit_code == 0);
  for (int i = 0; i < 10; ++i) {
    CHECK(count(r.out, "task " + std::to_string(i) + " starts\n") == 1);
  }
  CHECK(count(r.out, "wave 0: ") == 3);
  CHECK(count(r.out, "wave 1: ") == 3);
  CHECK(count(r.out, "wave 2: ") == 3);
  CHECK(count(r.out, "wave 3: ") == 1);
  CHECK(r.out.size() >= 9);
  CHECK(r.out.substr(r.out.size() - 9) == "all done\n");
}

TEST_CASE("s09 terminate: running work fails fast, nothing is left behind", "[seeds][pool]") {
  auto r = braid::test::run_example("s09_pool_terminate");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("workers: 2\n") != std::string::npos);
  CHECK(r.out.find("terminated in under a second: True\n") != std::string::npos);
  CHECK(r.out.find("result: WorkerLostError: Pool: terminated before the task finished\n") !=
        std::string::npos);
  CHECK(r.out.find("zombies left: none\n") != std::string::npos);
  CHECK(r.out.find("submit after terminate: Pool::apply: the pool is terminated") !=
        std::string::npos);
}

TEST_CASE("s09 with Pool(...) as p: every method, workers gone after the scope", "[seeds][pool]") {
  auto r = braid::test::run_example("s09_pool_with");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "map: " + squares(10) + "\napply: 144\nimap: " + squares(5) +
                     "\nimap_unordered (sorted): " + squares(5) +
                     "\nstarmap: [8, 9]\nworkers after the scope: gone\n");
}
