// StreamServer::stats(): accepted, live, closed and the two error counters move as the
// connections come, run and end, whichever way a handler ends.
#include <braid/net/stream_server.hpp>

#include "net_test_support.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using braid::net::ServerOptions;
using braid::net::ServerStats;
using braid::net::StreamServer;
using braid::net::TcpStream;

namespace {

// Waits (bounded, on the hub) until `done()` holds; false if it never did.
bool wait_until(const std::function<bool()>& done, braid::Duration limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    braid::sleep(2ms);
  }
  return true;
}

// Every accepted connection is live or closed.
void check_balanced(const ServerStats& s) {
  INFO("accepted " << s.accepted << ", live " << s.live << ", closed " << s.closed);
  CHECK(s.accepted == s.live + s.closed);
}

// Connects, sends `what`, and reads until the server closes the connection.
void send_and_drain(std::uint16_t port, const std::string& what) {
  auto s = TcpStream::connect("127.0.0.1", port, 5s);
  s.set_timeout(5s);
  if (!what.empty()) s.sendall(what);
  char buf[64];
  while (s.recv(buf) > 0) {
  }
}

}  // namespace

TEST_CASE("stats: N clients connect and close -> accepted N, live N then 0, closed N",
          "[net][unit]") {
  constexpr int kClients = 10;
  braid::Event all_in, release;
  int arrived = 0;
  StreamServer server("127.0.0.1", 0, [&](TcpStream& s) {
    if (++arrived == kClients) all_in.set();
    release.wait(10s);
    char buf[64];
    while (std::size_t n = s.recv(buf)) s.sendall({buf, n});
  });
  const ServerStats before = server.stats();
  CHECK(before.accepted == 0);
  CHECK(before.live == 0);
  CHECK(before.closed == 0);
  server.start();

  std::vector<braid::Task<std::string>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(braid::spawn([port = server.port()] {
      auto s = TcpStream::connect("127.0.0.1", port, 5s);
      s.set_timeout(10s);
      s.sendall("ping");
      char buf[4];
      s.recv_exact(buf);
      return std::string(buf, 4);
    }));
  }
  REQUIRE(all_in.wait(10s));
  const ServerStats busy = server.stats();
  CHECK(busy.accepted == kClients);
  CHECK(busy.live == kClients);
  CHECK(busy.closed == 0);
  CHECK(busy.live == server.connection_count());

  release.set();
  REQUIRE(braid::joinall(clients, 10s));
  for (auto& c : clients) CHECK(c.get() == "ping");
  // The clients close as their tasks end; each handler then sees EOF and returns.
  clients.clear();
  REQUIRE(wait_until([&] { return server.stats().closed == kClients; }));
  const ServerStats after = server.stats();
  CHECK(after.accepted == kClients);
  CHECK(after.live == 0);
  CHECK(after.handler_errors == 0);
  CHECK(after.peer_errors == 0);
  check_balanced(after);
}

TEST_CASE("stats: a handler that throws counts one handler error, a vanished peer one peer error",
          "[net][unit]") {
  StreamServer server("127.0.0.1", 0, [](TcpStream& s) {
    char buf[16];
    const std::size_t n = s.recv(buf);
    const std::string got(buf, n);
    if (got == "boom") throw std::runtime_error("handler exploded");
    if (got == "odd") throw 42;  // not a std::exception: an error all the same
    if (got == "short") {
      char rest[100];
      s.recv_exact(rest);  // the client closes first: EOFError, the peer's doing
    }
  });
  server.start();

  send_and_drain(server.port(), "boom");
  REQUIRE(wait_until([&] { return server.stats().closed == 1; }));
  ServerStats s = server.stats();
  CHECK(s.handler_errors == 1);
  CHECK(s.peer_errors == 0);
  CHECK(s.live == 0);

  send_and_drain(server.port(), "odd");
  REQUIRE(wait_until([&] { return server.stats().closed == 2; }));
  CHECK(server.stats().handler_errors == 2);

  {
    auto c = TcpStream::connect("127.0.0.1", server.port(), 5s);
    c.sendall("short");
  }  // closed with the handler waiting for 100 bytes
  REQUIRE(wait_until([&] { return server.stats().closed == 3; }));
  s = server.stats();
  CHECK(s.handler_errors == 2);
  CHECK(s.peer_errors == 1);

  send_and_drain(server.port(), "fine");  // returns normally: no error of either kind
  REQUIRE(wait_until([&] { return server.stats().closed == 4; }));
  s = server.stats();
  CHECK(s.accepted == 4);
  CHECK(s.handler_errors == 2);
  CHECK(s.peer_errors == 1);
  check_balanced(s);
}

TEST_CASE("stats: handlers killed by stop() are closed, not errors", "[net][unit]") {
  braid::Event in_handler;
  StreamServer server("127.0.0.1", 0, [&](TcpStream& s) {
    in_handler.set();
    char buf[16];
    s.recv(buf);  // the client never sends: waits until killed
  });
  server.start();
  auto c = TcpStream::connect("127.0.0.1", server.port(), 5s);
  REQUIRE(in_handler.wait(10s));
  CHECK(server.stats().live == 1);
  server.stop(0s);
  const ServerStats s = server.stats();
  CHECK(s.accepted == 1);
  CHECK(s.live == 0);
  CHECK(s.closed == 1);
  CHECK(s.handler_errors == 0);
  CHECK(s.peer_errors == 0);
}

TEST_CASE("stats: with max_connections, connections waiting in the backlog are not accepted yet",
          "[net][unit]") {
  braid::Event release;
  ServerOptions opts;
  opts.max_connections = 1;
  StreamServer server(
      "127.0.0.1", 0,
      [&](TcpStream& s) {
        release.wait(10s);
        s.sendall("done");
      },
      opts);
  server.start();
  int connected = 0;
  std::vector<braid::Task<std::string>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(braid::spawn([&connected, port = server.port()] {
      auto s = TcpStream::connect("127.0.0.1", port, 5s);
      ++connected;
      s.set_timeout(10s);
      return s.recv(16);
    }));
  }
  // The three connects complete in the kernel's backlog; the server takes one only.
  REQUIRE(wait_until([&] { return connected == 3 && server.stats().accepted == 1; }));
  braid::sleep(20ms);  // a chance to take more, which it must not
  for (auto& c : clients) REQUIRE_FALSE(c.ready());
  ServerStats s = server.stats();
  CHECK(s.accepted == 1);
  CHECK(s.live == 1);

  release.set();
  REQUIRE(braid::joinall(clients, 10s));
  for (auto& c : clients) CHECK(c.get() == "done");
  REQUIRE(wait_until([&] { return server.stats().closed == 3; }));
  s = server.stats();
  CHECK(s.accepted == 3);
  CHECK(s.live == 0);
  check_balanced(s);
}
