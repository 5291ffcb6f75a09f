// StreamServer with a TLS context: echo, clients that reject it or stall in the
// handshake (the server survives, bounded), stop() and the idle sweep over TLS, and a
// thousand concurrent TLS clients in one process.
#include <braid/net/tls_stream.hpp>

#include "tls_test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using braid::net::ServerOptions;
using braid::net::StreamServer;
using braid::net::TcpStream;
using braid::net::TlsContext;
using braid::net::TlsError;
using braid::net::TlsStream;
using braid::test::kSchedulingSlack;
using Clock = std::chrono::steady_clock;

namespace {

void echo(TlsStream& s) {
  char buf[4096];
  while (std::size_t n = s.recv(buf)) s.sendall({buf, n});
}

/// One echo round trip as a client of `port`.
void check_echo(std::uint16_t port, const TlsContext& ctx, const std::string& msg) {
  TlsStream c = TlsStream::connect("127.0.0.1", port, ctx, 10s);
  c.sendall(msg);
  std::string back(msg.size(), '\0');
  c.recv_exact(back);
  CHECK(back == msg);
  c.shutdown(5s);
}

/// Waits (bounded) until `pred()` holds; the server's counters change as its handler
/// coroutines end, which the test cannot join directly.
template <class Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds limit = 5s) {
  const auto until = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > until) return false;
    braid::sleep(5ms);
  }
  return true;
}

/// The first bytes a TLS client sends: its ClientHello.
std::string client_hello() {
  auto conn = braid::test::tcp_pair();
  auto& c = conn.first;
  auto& s = conn.second;
  auto client = braid::spawn([c = std::move(c)]() mutable {
    TlsStream::client(std::move(c), braid::test::trusting_client(), "127.0.0.1");
  });
  s.set_timeout(5s);
  std::string hello = s.recv(4096);
  client.kill();
  return hello;
}

}  // namespace

TEST_CASE("a TLS StreamServer echoes, and survives clients that reject it", "[net][tls][server]") {
  const auto& files = braid::test::tls_files();
  StreamServer server("127.0.0.1", 0,
                      TlsContext::server(files.self_signed_cert, files.self_signed_key), echo);
  server.start();
  CHECK_THROWS_WITH(
      TlsStream::connect("127.0.0.1", server.port(), braid::test::trusting_client(), 5s),
      Catch::EndsWith("certificate verify failed (self-signed certificate)"));
  braid::net::TlsClientOptions trusting_anything;
  trusting_anything.verify = false;
  check_echo(server.port(), TlsContext::client(trusting_anything), "still serving");
  REQUIRE(eventually([&] { return server.stats().closed == 2; }));
  const auto st = server.stats();
  CHECK(st.accepted == 2);
  CHECK(st.peer_errors == 1);  // the rejected handshake
  CHECK(st.handler_errors == 0);
}

TEST_CASE("a TLS StreamServer drops a client that stalls in the handshake", "[net][tls][server]") {
  const bool half_hello = GENERATE(false, true);
  CAPTURE(half_hello);
  const std::string hello = half_hello ? client_hello() : std::string();
  ServerOptions opts;
  opts.tls_handshake_timeout = 300ms;
  StreamServer server("127.0.0.1", 0, braid::test::good_server(), echo, opts);
  server.start();

  auto staller = TcpStream::connect("127.0.0.1", server.port(), 5s);
  if (half_hello) staller.sendall(std::string_view(hello).substr(0, hello.size() / 2));
  const auto t0 = Clock::now();
  // Meanwhile, others are served: the stall holds up only its own coroutine.
  check_echo(server.port(), braid::test::trusting_client(), "not held up");
  staller.set_timeout(5s);
  std::string got;
  try {
    got = staller.recv(4096);  // the server's close: EOF (or a reset)
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::connection_reset);
  }
  const auto took = Clock::now() - t0;
  CHECK(got.empty());
  CHECK(took >= 250ms);  // t0 was taken just after the connect
  CHECK(took < 300ms + kSchedulingSlack);
  REQUIRE(eventually([&] { return server.stats().closed == 2; }));
  CHECK(server.stats().peer_errors == 1);
}

TEST_CASE("stop() ends a TLS server with a handshake in progress promptly", "[net][tls][server]") {
  StreamServer server("127.0.0.1", 0, braid::test::good_server(), echo);
  server.start();
  auto staller = TcpStream::connect("127.0.0.1", server.port(), 5s);
  REQUIRE(eventually([&] { return server.connection_count() == 1; }));
  const auto t0 = Clock::now();
  server.stop(100ms);
  CHECK(Clock::now() - t0 < 100ms + kSchedulingSlack);
  CHECK(server.connection_count() == 0);
  CHECK(server.stats().accepted == server.stats().closed);
}

TEST_CASE("the idle sweep closes an idle TLS connection", "[net][tls][server]") {
  ServerOptions opts;
  opts.idle_timeout = 200ms;
  StreamServer server("127.0.0.1", 0, braid::test::good_server(), echo, opts);
  server.start();
  const auto t0 = Clock::now();  // before the last traffic (the handshake)
  TlsStream c = TlsStream::connect("127.0.0.1", server.port(), braid::test::trusting_client(), 5s);
  c.set_timeout(5s);
  CHECK(c.recv(16).empty());  // the server shut the socket down: the end of the stream
  CHECK(Clock::now() - t0 >= 200ms);
  REQUIRE(eventually([&] { return server.stats().closed == 1; }));
}

TEST_CASE("a TLS StreamServer serves 1,000 concurrent clients in one process",
          "[net][tls][server][many]") {
  const int clients = braid::test::kManyClients;
  braid::test::raise_fd_limit(2 * clients + 64);
  StreamServer server("127.0.0.1", 0, braid::test::good_server(), echo);
  server.start();
  const TlsContext ctx = braid::test::trusting_client();
  int ok = 0;
  std::vector<braid::Task<void>> tasks;
  const auto t0 = Clock::now();
  braid::Event all_connected;
  int connected = 0;
  for (int i = 0; i < clients; ++i) {
    tasks.push_back(braid::spawn([&, i] {
      TlsStream c = TlsStream::connect("127.0.0.1", server.port(), ctx, 60s);
      // All connected at once before any echoes: the server really holds them all.
      if (++connected == clients) all_connected.set();
      all_connected.wait(60s);
      const std::string msg = "client " + std::to_string(i) + std::string(100, '.');
      c.sendall(msg);
      std::string back(msg.size(), '\0');
      c.recv_exact(back);
      if (back == msg) ++ok;
      c.shutdown(10s);
    }));
  }
  braid::joinall(tasks);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& t : tasks) t.get();  // the first failure, if any
  INFO(clients << " TLS clients (handshake, echo, close_notify) in " << secs << " s");
  CHECK(ok == clients);
  CHECK(secs < 60);
  REQUIRE(eventually([&] { return server.stats().closed == static_cast<unsigned>(clients); }, 10s));
  CHECK(server.stats().peer_errors == 0);
  CHECK(server.stats().handler_errors == 0);
}

TEST_CASE("a TLS StreamServer refuses a client context, no handler, a bad handshake bound",
          "[net][tls][server]") {
  CHECK_THROWS_WITH(StreamServer("127.0.0.1", 0, TlsContext::client(), echo),
                    "StreamServer: a client TLS context (use TlsContext::server)");
  CHECK_THROWS_WITH(
      StreamServer("127.0.0.1", 0, braid::test::good_server(), StreamServer::TlsHandler()),
      "StreamServer: empty handler");
  ServerOptions opts;
  opts.tls_handshake_timeout = 0s;
  CHECK_THROWS_WITH(StreamServer("127.0.0.1", 0, braid::test::good_server(), echo, opts),
                    "StreamServer: ServerOptions::tls_handshake_timeout must be positive");
  // Over a listener made beforehand, as a forked worker would have it.
  StreamServer server(braid::net::TcpListener::bind("127.0.0.1", 0), braid::test::good_server(),
                      echo);
  server.start();
  check_echo(server.port(), braid::test::trusting_client(), "over an adopted listener");
}
