// braid's own name resolution with the hooks linked in: Asio's resolver calls getaddrinfo
// on braid's thread pool, where no hub runs, so the hooked getaddrinfo must pass the call
// straight to libc's (not park, not hand it to the pool again, not recurse).
#include <braid/net/tcp_stream.hpp>
#include <braid/runtime/thread.hpp>

#include <catch2/catch.hpp>

#include "hooks_test_support.hpp"

#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("braid::net resolves names through Asio's resolver with the hooks linked") {
  auto t = braid::spawn([] {
    auto listener = braid::net::TcpListener::bind("localhost", 0);
    auto c = braid::net::TcpStream::connect("localhost", listener.port(), 5s);
    auto s = listener.accept();
    c.sendall("x");
    return s.recv(1);
  });
  // A hook that parked or re-submitted to the pool on the pool's own thread would never
  // return (the lookup would wait for itself): the bounded join proves libc's call ran.
  REQUIRE(t.join(30s));
  CHECK(t.get() == "x");
  // Four lookups at once run side by side on the pool, each through libc.
  std::vector<braid::Task<std::string>> many;
  for (int i = 0; i < 4; ++i) {
    many.push_back(braid::spawn([] {
      auto listener = braid::net::TcpListener::bind("localhost", 0);
      auto c = braid::net::TcpStream::connect("localhost", listener.port(), 5s);
      auto s = listener.accept();
      c.sendall("y");
      return s.recv(1);
    }));
  }
  REQUIRE(braid::joinall(many, 30s));
  for (auto& m : many) CHECK(m.get() == "y");
}
