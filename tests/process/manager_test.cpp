#include <braid/process/manager.hpp>

#include <braid/coro.hpp>
#include <braid/process/process.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

TEST_CASE("Manager dict and list in one process", "[process][unit][fork]") {
  mp::Manager m;
  REQUIRE(m.address().rfind("unix:", 0) == 0);
  auto d = m.dict<std::string, int>();
  d["a"] = 1;
  d.set("b", 2);
  d["a"] = 10;  // overwrite keeps the insertion position
  CHECK(d.size() == 2);
  CHECK(static_cast<int>(d["a"]) == 10);
  CHECK(d.contains("b"));
  CHECK_FALSE(d.contains("zz"));
  CHECK_FALSE(d.find("zz"));
  REQUIRE_THROWS_AS(d.get("zz"), mp::ManagerError);  // Python's KeyError
  auto items = d.items();
  REQUIRE(items.size() == 2);
  CHECK(items[0] == std::pair<std::string, int>("a", 10));
  CHECK(d.erase("a"));
  CHECK_FALSE(d.erase("a"));
  d.clear();
  CHECK(d.size() == 0);

  auto l = m.list<std::string>();
  l.append("x");
  l.append("y");
  l.append("z");
  CHECK(l.size() == 3);
  CHECK(l.get(-1) == "z");
  l.set(0, "X");
  CHECK(l.items() == std::vector<std::string>{"X", "y", "z"});
  CHECK(l.pop() == "z");
  CHECK(l.pop(0) == "X");
  REQUIRE_THROWS_AS(l.get(5), mp::ManagerError);
  m.shutdown();
  m.shutdown();  // idempotent
  CHECK(braid::test::no_children_left());
}

TEST_CASE("Manager containers shared by ten processes (seed S11)", "[process][unit][fork]") {
  mp::Manager m;
  auto d = m.dict<int, int>();
  auto l = m.list<int>();
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int i = 0; i < 10; ++i) {
    ps.push_back(std::make_unique<mp::Process>(
        [](mp::DictProxy<int, int> d, mp::ListProxy<int> l) {
          d[::getpid()] = ::getpid();
          l.append(::getpid());
        },
        d, l));
    ps.back()->start();
  }
  for (auto& p : ps) {
    REQUIRE(p->join(kGenerous));
    REQUIRE(p->exitcode() == 0);
  }
  CHECK(d.size() == 10);
  CHECK(l.size() == 10);
  for (auto& p : ps) CHECK(static_cast<int>(d[p->pid()]) == p->pid());
}

TEST_CASE("Manager refuses a wrong authentication key", "[process][unit][fork]") {
  mp::ManagerOptions o;
  o.authkey = "secret";
  mp::Manager m(o);
  auto c = std::make_shared<mp::detail::ManagerClient>(m.address(), "wrong");
  mp::DictProxy<int, int> d(c, 1);
  REQUIRE_THROWS_AS(d.size(), mp::ManagerError);
}

TEST_CASE("Manager calls park only the calling coroutine and leak nothing",
          "[process][unit][fork]") {
  const std::size_t fds = braid::test::open_fd_count();
  {
    braid::test::Ticker ticker;
    mp::Manager m;
    auto l = m.list<int>();
    auto a = braid::spawn([&] {
      for (int i = 0; i < 200; ++i) l.append(i);
    });
    auto b = braid::spawn([&] {
      for (int i = 0; i < 200; ++i) l.append(-i);
    });
    a.get();
    b.get();
    CHECK(l.size() == 400);
  }
  CHECK(braid::test::open_fd_count() == fds);
  CHECK(braid::test::no_children_left());
}
