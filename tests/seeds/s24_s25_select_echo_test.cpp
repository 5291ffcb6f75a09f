// Runs the seed's select (S24) and selectors (S25) echo servers in their demo mode.
#include "run_example.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos; pos += what.size())
    ++n;
  return n;
}

void check_demo(const braid::test::ProgramResult& r) {
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("listening on ", 0) == 0);
  CHECK(count(r.out, "new connection\n") == 3);
  CHECK(count(r.out, "connection closed\n") == 3);
  CHECK(r.out.find("b'hello from client 0'\n") != std::string::npos);
  for (int i = 0; i < 3; ++i) {
    const std::string c = std::to_string(i);
    CHECK(r.out.find("client " + c + " got: hello from client " + c + " | bye from client " + c +
                     "\n") != std::string::npos);
  }
  CHECK(r.out.find("served 3 clients\n") != std::string::npos);
}

}  // namespace

TEST_CASE("S24 select() echo server serves its clients", "[seeds][net]") {
  auto r = braid::test::run_example("s24_select_echo", "--clients 3", true);
  check_demo(r);
  CHECK(count(r.out, "sending data\n") == 6);
  CHECK(r.out.find("...........................\n") != std::string::npos);
}

TEST_CASE("S25 selectors echo server serves its clients", "[seeds][net]") {
  check_demo(braid::test::run_example("s25_selectors_echo", "--clients 3", true));
}
