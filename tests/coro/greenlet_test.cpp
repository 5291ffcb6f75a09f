#include <braid/coro/greenlet.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

TEST_CASE("greenlets switch explicitly, as in the greenlet module's example",
          "[coro][greenlet]") {
  std::vector<std::string> out;
  braid::Greenlet* gr1 = nullptr;
  braid::Greenlet* gr2 = nullptr;
  braid::Greenlet g1([&] {
    out.push_back("11111111");
    gr2->switch_to();
    out.push_back("33333333");
    gr2->switch_to();
  });
  braid::Greenlet g2([&] {
    out.push_back("22222222");
    gr1->switch_to();
    out.push_back("44444444");
  });
  gr1 = &g1;
  gr2 = &g2;
  g1.switch_to();
  REQUIRE(out == std::vector<std::string>{"11111111", "22222222", "33333333", "44444444"});
  REQUIRE(g2.dead());
  REQUIRE_FALSE(g1.dead());  // suspended in its second switch; its parent got control back
}

TEST_CASE("a finished greenlet returns to its parent", "[coro][greenlet]") {
  braid::Greenlet& main_g = braid::Greenlet::current();
  braid::Greenlet child([&] { REQUIRE(&braid::Greenlet::current() != &main_g); });
  REQUIRE(child.parent() == &main_g);
  child.switch_to();
  REQUIRE(child.dead());
  REQUIRE(&braid::Greenlet::current() == &main_g);
  REQUIRE_THROWS_AS(child.switch_to(), std::logic_error);
}

TEST_CASE("an exception escaping a greenlet is rethrown in its parent", "[coro][greenlet]") {
  braid::Greenlet g([] { throw std::runtime_error("greenlet boom"); });
  REQUIRE_THROWS_WITH(g.switch_to(), "greenlet boom");
  REQUIRE(g.dead());
}

TEST_CASE("destroying a suspended greenlet unwinds it", "[coro][greenlet]") {
  int destroyed = 0;
  struct Guard {
    int* n;
    ~Guard() { ++*n; }
  };
  {
    braid::Greenlet& home = braid::Greenlet::current();
    braid::Greenlet g([&] {
      Guard guard{&destroyed};
      home.switch_to();
    });
    g.switch_to();
    REQUIRE(g.active());
  }
  REQUIRE(destroyed == 1);
}

TEST_CASE("greenlets work inside a spawned coroutine", "[coro][greenlet]") {
  auto t = braid::spawn([] {
    int steps = 0;
    braid::Greenlet& home = braid::Greenlet::current();
    braid::Greenlet g([&] {
      ++steps;
      braid::sleep(std::chrono::milliseconds(1));  // parks the coroutine, greenlet stack and all
      ++steps;
      home.switch_to();
    });
    g.switch_to();
    return steps;
  });
  REQUIRE(t.get() == 2);
}
