// StreamServer's ending: stop()'s default grace (ServerOptions::stop_timeout, as gevent),
// the kill after it, a handler that will not die, a handler stopping its own server,
// the idle sweep (ServerOptions::idle_timeout), and how handler errors are logged.
#include <braid/coro.hpp>
#include <braid/net.hpp>

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using braid::net::ServerOptions;
using braid::net::StreamServer;
using braid::net::TcpStream;

namespace {

// Upper-bound slack on a loaded 2-core CI machine running ASan; lower bounds are exact.
constexpr auto kSlack = 2s;

void echo(TcpStream& s) {
  char buf[4096];
  while (std::size_t n = s.recv(buf)) s.sendall({buf, n});
}

// Waits (bounded, without blocking the hub) until the server runs `n` handlers.
bool wait_connections(const StreamServer& server, std::size_t n) {
  for (int i = 0; i < 1000; ++i) {
    if (server.connection_count() == n) return true;
    braid::sleep(5ms);
  }
  return false;
}

// What a client sees when the server ends its connection: "eof", "reset", or
// "timeout" when nothing came within the bound (the connection was left hanging).
std::string end_seen_by(TcpStream& client, std::chrono::milliseconds limit = 5s) {
  client.set_timeout(limit);
  try {
    char buf[65536];
    while (client.recv(buf) > 0) {
    }
    return "eof";
  } catch (const braid::TimeoutError&) {
    return "timeout";
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::connection_reset) return "reset";
    throw;
  }
}

double seconds(braid::Duration d) { return std::chrono::duration<double>(d).count(); }

struct StopOutcome {
  braid::Duration took{};  // how long stop() took
  bool killed = false;     // the handler got GreenletExit
  std::size_t left = 0;    // connection_count() after stop()
  std::string client_saw;  // see end_seen_by
};

// A server whose one client connects and never sends, stopped with `grace`.
StopOutcome stop_with_idle_client(const ServerOptions& opts, std::optional<braid::Duration> grace) {
  StopOutcome r;
  StreamServer server(
      "127.0.0.1", 0,
      [&r](TcpStream& s) {
        try {
          char buf[16];
          s.recv(buf);  // the client never sends
        } catch (const braid::GreenletExit&) {
          r.killed = true;
          throw;
        }
      },
      opts);
  server.start();
  auto client = TcpStream::connect("127.0.0.1", server.port(), 5s);
  if (!wait_connections(server, 1)) throw std::runtime_error("the server never ran the handler");
  r.took = braid::test::time_of([&] { server.stop(grace); });
  r.left = server.connection_count();
  r.client_saw = end_seen_by(client);
  return r;
}

}  // namespace

TEST_CASE("ServerOptions: new fields come last, stop_timeout is 1 s, idle_timeout is off",
          "[net][unit]") {
  const ServerOptions o{10, 16, true};  // API.md's aggregate form still means the same
  CHECK(o.max_connections == 10);
  CHECK(o.backlog == 16);
  CHECK(o.reuse_port);
  CHECK(o.stop_timeout == 1s);
  CHECK_FALSE(o.idle_timeout.has_value());
}

TEST_CASE("ServerOptions with a negative stop_timeout or a zero idle_timeout are refused",
          "[net][unit]") {
  ServerOptions bad_stop;
  bad_stop.stop_timeout = -1s;
  CHECK_THROWS_WITH(StreamServer("127.0.0.1", 0, echo, bad_stop),
                    Catch::Contains("stop_timeout is negative"));
  ServerOptions bad_idle;
  bad_idle.idle_timeout = 0s;
  CHECK_THROWS_WITH(StreamServer("127.0.0.1", 0, echo, bad_idle),
                    Catch::Contains("idle_timeout must be positive"));
}

TEST_CASE("stop() without a grace waits stop_timeout for an idle client, then kills its handler",
          "[net][unit]") {
  const StopOutcome r = stop_with_idle_client(ServerOptions{}, std::nullopt);  // 1 s default
  INFO("stop() took " << seconds(r.took) << " s");
  CHECK(r.took >= 1s);
  CHECK(r.took < 1s + kSlack);
  CHECK(r.killed);
  CHECK(r.left == 0);
  CHECK((r.client_saw == "eof" || r.client_saw == "reset"));
}

TEST_CASE("stop_timeout sets the default grace; stop(0) kills at once", "[net][unit]") {
  ServerOptions opts;
  opts.stop_timeout = 200ms;
  const StopOutcome r = stop_with_idle_client(opts, std::nullopt);
  INFO("stop() with stop_timeout = 200 ms took " << seconds(r.took) << " s");
  CHECK(r.took >= 200ms);
  CHECK(r.took < 200ms + kSlack);
  CHECK(r.killed);
  const StopOutcome now = stop_with_idle_client(ServerOptions{}, 0s);
  INFO("stop(0) took " << seconds(now.took) << " s");
  CHECK(now.took < kSlack);
  CHECK(now.killed);
  CHECK(now.left == 0);
  CHECK((now.client_saw == "eof" || now.client_saw == "reset"));
}

TEST_CASE("stop(grace) lets a handler that finishes within the grace end normally", "[net][unit]") {
  bool finished = false, killed = false;
  StreamServer server("127.0.0.1", 0, [&](TcpStream& s) {
    try {
      char buf[16];
      s.recv(buf);
      braid::sleep(100ms);  // still working when stop() comes
      s.sendall("done");
      finished = true;
    } catch (const braid::GreenletExit&) {
      killed = true;
      throw;
    }
  });
  server.start();
  auto client = TcpStream::connect("127.0.0.1", server.port(), 5s);
  client.sendall("go");
  REQUIRE(wait_connections(server, 1));
  const auto took = braid::test::time_of([&] { server.stop(5s); });
  INFO("stop(5s) took " << seconds(took) << " s");
  CHECK(took < 5s);  // returned when the handler did, not at the end of the grace
  CHECK(finished);
  CHECK_FALSE(killed);
  client.set_timeout(5s);
  CHECK(client.recv(16) == "done");
}

TEST_CASE("stop() returns even when a handler swallows GreenletExit, closing its connection",
          "[net][unit]") {
  braid::test::LogCapture log;
  braid::Event release;
  bool swallowed = false;
  StreamServer server("127.0.0.1", 0, [&](TcpStream& s) {
    try {
      char buf[16];
      s.recv(buf);
    } catch (const braid::GreenletExit&) {
      swallowed = true;  // a badly behaved handler: it goes on after the kill
      release.wait(30s);
    }
  });
  server.start();
  auto client = TcpStream::connect("127.0.0.1", server.port(), 5s);
  REQUIRE(wait_connections(server, 1));
  const auto took = braid::test::time_of([&] { server.stop(0s); });
  INFO("stop(0) took " << seconds(took) << " s");
  CHECK(swallowed);
  CHECK(took >= 1s);  // it gave the killed handler 1 s to unwind
  CHECK(took < 1s + kSlack);
  CHECK(server.connection_count() == 1);  // left running...
  const std::string end = end_seen_by(client);
  CHECK((end == "eof" || end == "reset"));  // ...but its client is not left hanging
  CHECK(log.text().find("1 handler(s) still running") != std::string::npos);
  release.set();
  CHECK(wait_connections(server, 0));
}

TEST_CASE("a handler calling stop() on its own server does not deadlock", "[net][unit]") {
  StreamServer* self = nullptr;
  int killed = 0;
  std::string stopper_saw;
  ServerOptions opts;
  opts.stop_timeout = 200ms;
  StreamServer server(
      "127.0.0.1", 0,
      [&](TcpStream& s) {
        char buf[16];
        try {
          const std::size_t n = s.recv(buf);
          if (std::string_view(buf, n) != "stop") return;
        } catch (const braid::GreenletExit&) {
          ++killed;
          throw;
        }
        self->stop();  // waits for the other handler, not for itself
        stopper_saw = "returned";
        s.sendall("stopped");
      },
      opts);
  self = &server;
  server.start();
  auto idle = TcpStream::connect("127.0.0.1", server.port(), 5s);
  REQUIRE(wait_connections(server, 1));
  auto stopper = TcpStream::connect("127.0.0.1", server.port(), 5s);
  REQUIRE(wait_connections(server, 2));
  stopper.sendall("stop");
  const auto took = braid::test::time_of([&] { server.serve_forever(); });
  INFO("serve_forever returned after " << seconds(took) << " s");
  CHECK(took < 200ms + kSlack);
  CHECK(stopper_saw == "returned");
  CHECK(killed == 1);
  stopper.set_timeout(5s);
  CHECK(stopper.recv(16) == "stopped");
  const std::string end = end_seen_by(idle);
  CHECK((end == "eof" || end == "reset"));
  CHECK(wait_connections(server, 0));
}

TEST_CASE("stop(0) from the first handler while connections keep arriving ends every one",
          "[net][unit]") {
  constexpr int kClients = 40;
  StreamServer* self = nullptr;
  int started = 0;
  StreamServer server("127.0.0.1", 0, [&](TcpStream&) {
    if (++started == 1) self->stop(0s);
  });
  self = &server;
  server.start();
  // Plain blocking connects: the kernel completes them in the backlog while the hub
  // does not run, so the accept loop finds them all pending and spawns handlers in a
  // burst; the first handler to run stops the server while the others are queued,
  // accepted or still in the backlog.
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    fds.push_back(fd);
  }
  server.serve_forever();
  CHECK(started >= 1);
  CHECK(server.connection_count() == 0);
  for (int fd : fds) {  // every client sees its connection end (EOF or reset), none hangs
    pollfd p{fd, POLLIN, 0};
    CHECK(::poll(&p, 1, 5000) == 1);
    char c;
    const ssize_t n = ::read(fd, &c, 1);
    CHECK((n == 0 || (n < 0 && errno == ECONNRESET)));
    ::close(fd);
  }
}

TEST_CASE("idle_timeout closes an idle connection, letting the next in under max_connections=1",
          "[net][unit]") {
  ServerOptions opts;
  opts.max_connections = 1;
  opts.idle_timeout = 200ms;
  StreamServer server("127.0.0.1", 0, echo, opts);
  server.start();
  auto first = TcpStream::connect("127.0.0.1", server.port(), 5s);
  first.set_timeout(5s);
  first.sendall("one");
  REQUIRE(first.recv(16) == "one");  // accepted and served; from here it idles
  const auto idle_from = std::chrono::steady_clock::now();
  auto second = TcpStream::connect("127.0.0.1", server.port(), 5s);  // waits in the backlog
  second.set_timeout(5s);
  second.sendall("two");
  CHECK(second.recv(16) == "two");  // served once the first was closed for idling
  const auto waited = std::chrono::steady_clock::now() - idle_from;
  INFO("the second client was served after " << seconds(waited) << " s");
  CHECK(waited >= 150ms);  // the kernel counts idleness in whole milliseconds (jiffies)
  CHECK(waited < 200ms + 50ms + kSlack);
  CHECK(first.recv(16).empty());  // the idle client saw an orderly end
}

TEST_CASE("idle_timeout leaves streaming connections and handlers busy elsewhere alone",
          "[net][unit]") {
  ServerOptions opts;
  opts.idle_timeout = 150ms;
  StreamServer server(
      "127.0.0.1", 0,
      [](TcpStream& s) {
        char buf[4096];
        while (std::size_t n = s.recv(buf)) {
          if (std::string_view(buf, n) == "slow") braid::sleep(500ms);  // not waiting on s
          s.sendall({buf, n});
        }
      },
      opts);
  server.start();
  auto streaming = braid::spawn([port = server.port()] {
    auto s = TcpStream::connect("127.0.0.1", port, 5s);
    s.set_timeout(5s);
    const std::string msg(1000, 'x');
    std::string back(msg.size(), '\0');
    int rounds = 0;
    const auto until = std::chrono::steady_clock::now() + 700ms;
    while (std::chrono::steady_clock::now() < until) {
      s.sendall(msg);
      s.recv_exact(back);
      ++rounds;
    }
    return rounds;
  });
  auto slow = braid::spawn([port = server.port()] {
    auto s = TcpStream::connect("127.0.0.1", port, 5s);
    s.set_timeout(5s);
    s.sendall("slow");
    return s.recv(16);
  });
  REQUIRE(streaming.join(10s));
  REQUIRE(slow.join(10s));
  CHECK(streaming.get() > 0);  // no EOFError: never closed while it streamed
  CHECK(slow.get() == "slow");
  server.stop(0s);
}

TEST_CASE("idle_timeout closes a connection whose client stops reading", "[net][unit]") {
  braid::test::LogCapture log;
  ServerOptions opts;
  opts.idle_timeout = 200ms;
  std::error_code send_error;
  StreamServer server(
      "127.0.0.1", 0,
      [&](TcpStream& s) {
        const std::string chunk(65536, 'y');
        try {
          for (;;) s.sendall(chunk);  // parks once the client's buffers are full
        } catch (const std::system_error& e) {
          send_error = e.code();
          throw;  // a peer gone away: logged at debug, not as an error
        }
      },
      opts);
  server.start();
  auto client = TcpStream::connect("127.0.0.1", server.port(), 5s);  // never reads
  REQUIRE(wait_connections(server, 1));
  REQUIRE(wait_connections(server, 0));
  CHECK(send_error == std::errc::broken_pipe);
  CHECK(log.text().find("[error]") == std::string::npos);
}

TEST_CASE("a peer's reset is logged at debug, a handler's own failure at error", "[net][unit]") {
  braid::test::LogCapture log;
  const auto old_level = braid::detail::log().level();
  braid::detail::log().set_level(spdlog::level::debug);
  int ended = 0;
  StreamServer server("127.0.0.1", 0, [&](TcpStream& s) {
    struct Count {
      int& n;
      ~Count() { ++n; }
    } count{ended};
    char buf[16];
    const std::size_t n = s.recv(buf);  // a reset escapes from here
    if (std::string_view(buf, n) == "boom") throw std::runtime_error("handler exploded");
    s.recv(buf);
  });
  server.start();
  {
    auto resetter = TcpStream::connect("127.0.0.1", server.port(), 5s);
    REQUIRE(wait_connections(server, 1));
    const linger hard{1, 0};  // close with RST instead of FIN
    REQUIRE(::setsockopt(resetter.native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
  }
  auto bad = TcpStream::connect("127.0.0.1", server.port(), 5s);
  bad.sendall("boom");
  for (int i = 0; i < 1000 && ended < 2; ++i) braid::sleep(5ms);
  REQUIRE(ended == 2);
  REQUIRE(wait_connections(server, 0));
  braid::detail::log().set_level(old_level);
  const std::string text = log.text();
  INFO(text);
  CHECK(text.find("[debug] StreamServer") != std::string::npos);
  CHECK(text.find("went away: recv from 127.0.0.1") != std::string::npos);
  CHECK(text.find("[error] StreamServer") != std::string::npos);
  CHECK(text.find("handler exploded") != std::string::npos);
  // Exactly one error line: the handler's own failure, not the reset.
  CHECK(text.find("[error]") == text.rfind("[error]"));
}
