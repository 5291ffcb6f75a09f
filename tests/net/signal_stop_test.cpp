// A braid::signal_handler that stops a StreamServer: the handler's coroutine parks in
// stop() through the grace it gives an open connection, then serve_forever() returns.
#include <braid/coro.hpp>
#include <braid/net.hpp>

#include "net_test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;
using braid::net::ServerOptions;
using braid::net::StreamServer;
using braid::net::TcpStream;

TEST_CASE("a signal handler stops a StreamServer, parking through its grace", "[net][signal]") {
  ServerOptions opts;
  opts.stop_timeout = 200ms;  // the grace the handler's stop() waits for the open client
  bool handler_killed = false;
  StreamServer server(
      "127.0.0.1", 0,
      [&](TcpStream& s) {
        try {
          char buf[64];
          while (std::size_t n = s.recv(buf)) s.sendall({buf, n});
        } catch (const braid::GreenletExit&) {
          handler_killed = true;
          throw;
        }
      },
      opts);
  server.start();

  braid::Event stop_returned;
  std::string stopped_in;
  auto on_term = braid::signal_handler(SIGTERM, [&] {
    stopped_in = braid::detail::Scheduling::running(braid::Hub::current()).display_name();
    server.stop();  // parks: up to stop_timeout for the client, then the kill
    stop_returned.set();
  });

  // A client that echoes once, then stays connected and sends SIGTERM to the process.
  auto client = braid::spawn([&] {
    auto c = TcpStream::connect("127.0.0.1", server.port(), 5s);
    c.sendall(std::string_view("ping"));
    char buf[4];
    c.recv_exact(buf);
    REQUIRE(std::string(buf, 4) == "ping");
    ::raise(SIGTERM);
    c.set_timeout(5s);
    try {
      while (c.recv(buf) > 0) {
      }  // until the killed handler's connection closes: EOF...
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::connection_reset) throw;  // ...or a reset
    }
  });

  const auto t0 = std::chrono::steady_clock::now();
  server.serve_forever();
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(client.join(5s));
  REQUIRE(client.successful());
  REQUIRE(server.closed());
  REQUIRE(stopped_in == "signal_handler(SIGTERM)");
  REQUIRE(handler_killed);  // the grace ran out: stop() parked through it, then killed
  REQUIRE(took >= 200ms);
  REQUIRE(took < 200ms + braid::test::kSchedulingSlack);
  REQUIRE(stop_returned.wait(5s));
}
