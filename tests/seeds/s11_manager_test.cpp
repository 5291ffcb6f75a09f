// Runs examples/seeds/s11_manager: ten processes write their pid into a Manager's dict and
// list; the parent sees all ten.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <set>
#include <sstream>
#include <string>

TEST_CASE("S11: Manager dict and list shared by ten processes", "[seeds][process]") {
  auto r = braid::test::run_example("s11_manager");
  REQUIRE(r.exit_code == 0);
  std::istringstream in(r.out);
  std::string dict_line, list_line;
  std::getline(in, dict_line);
  std::getline(in, list_line);
  REQUIRE(dict_line.front() == '{');
  REQUIRE(list_line.front() == '[');
  // {pid: pid, ...}: every key equals its value, ten distinct keys.
  std::set<long> keys;
  std::istringstream d(dict_line.substr(1));
  long k, v;
  char colon, sep;
  while (d >> k >> colon >> v) {
    CHECK(k == v);
    keys.insert(k);
    d >> sep;
  }
  CHECK(keys.size() == 10);
  std::set<long> listed;
  std::istringstream l(list_line.substr(1));
  while (l >> k) {
    listed.insert(k);
    l >> sep;
  }
  CHECK(listed == keys);
}
