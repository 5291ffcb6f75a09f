// TlsStream: handshakes and echo both ways, certificate checks and their messages,
// timeouts, kills, the end of a stream, and Beast over TLS.
#include <braid/net/tls_stream.hpp>

#include "tls_test_support.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <openssl/x509_vfy.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using braid::net::TcpStream;
using braid::net::TlsContext;
using braid::net::TlsError;
using braid::net::TlsStream;
using braid::test::kSchedulingSlack;
using Clock = std::chrono::steady_clock;

namespace {

/// Accepts one connection on `listener` and runs the server handshake with `ctx`; the
/// error, if any, lands in `error`.
braid::Task<void> accept_one(braid::net::TcpListener& listener, const TlsContext& ctx,
                             std::string& error) {
  return braid::spawn([&listener, ctx, &error] {
    try {
      TlsStream s = TlsStream::accept(listener.accept(), ctx, 5s);
      char c;
      s.recv({&c, 1});  // until the client goes
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
}

/// The message of the TlsError `f` throws (fails the test if it throws none).
template <class F>
TlsError tls_error_of(F&& f) {
  try {
    f();
  } catch (const TlsError& e) {
    return e;
  }
  FAIL("no TlsError thrown");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("TLS handshake, then echo both ways", "[net][tls]") {
  auto ends = braid::test::tls_pair();
  auto& client = ends.first;
  auto& server = ends.second;
  CHECK(client.protocol() == "TLSv1.3");
  CHECK_FALSE(client.cipher().empty());
  CHECK(client.host_name() == "127.0.0.1");
  CHECK(client.peer_address() == server.local_address());

  // client -> server -> client
  client.sendall("ping");
  char buf[4];
  server.recv_exact(buf);
  CHECK(std::string(buf, 4) == "ping");
  server.sendall(std::string_view(buf, 4));
  client.recv_exact(buf);
  CHECK(std::string(buf, 4) == "ping");

  // The server speaks first, and a megabyte crosses each way at once (records are split
  // and partial writes happen; neither side may deadlock on a full socket).
  server.sendall("hello");
  CHECK(client.recv(16) == "hello");
  const std::string big(std::size_t{1} << 20, 'x');
  auto pump = [](TlsStream& from, TlsStream& to, const std::string& data) {
    auto writer = braid::spawn([&] { from.sendall(data); });
    std::string got;
    while (got.size() < data.size()) got += to.recv(std::size_t{64} * 1024);
    writer.get();
    return got;
  };
  auto there = braid::spawn([&] { return pump(client, server, big); });
  const std::string back = pump(server, client, big);
  CHECK(there.get() == big);
  CHECK(back == big);
}

TEST_CASE("TLS client verifies a host name and sends it as SNI", "[net][tls]") {
  auto listener = braid::net::TcpListener::bind("127.0.0.1", 0);
  const TlsContext server_ctx = braid::test::good_server();
  std::string sni;
  auto server = braid::spawn([&] {
    TlsStream s = TlsStream::accept(listener.accept(), server_ctx, 5s);
    sni = s.host_name();
    s.sendall("hi");
  });
  auto tcp = TcpStream::connect("127.0.0.1", listener.port(), 5s);
  TlsStream c = TlsStream::client(std::move(tcp), braid::test::trusting_client(), "localhost", 5s);
  CHECK(c.recv(2) == "hi");
  server.get();
  CHECK(sni == "localhost");
  CHECK(c.host_name() == "localhost");
}

TEST_CASE("TLS client rejects bad certificates with a clear error", "[net][tls][verify]") {
  const auto& files = braid::test::tls_files();
  auto listener = braid::net::TcpListener::bind("127.0.0.1", 0);
  const std::string addr = "127.0.0.1:" + std::to_string(listener.port());
  std::string server_error;

  SECTION("self-signed") {
    auto server = accept_one(
        listener, TlsContext::server(files.self_signed_cert, files.self_signed_key), server_error);
    const TlsError e = tls_error_of([&] {
      TlsStream::connect("127.0.0.1", listener.port(), braid::test::trusting_client(), 5s);
    });
    CHECK(std::string(e.what()) ==
          "TLS handshake with " + addr + ": certificate verify failed (self-signed certificate)");
    CHECK(e.verify_result() == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    REQUIRE(server.join(5s));
    // The server's side of it: the client's alert.
    CHECK(server_error.find("TLS handshake with 127.0.0.1:") == 0);
    INFO(server_error);
    CHECK(server_error.find("alert") != std::string::npos);
  }
  SECTION("a certificate for another host") {
    auto server =
        accept_one(listener, TlsContext::server(files.other_cert, files.other_key), server_error);
    auto tcp = TcpStream::connect("127.0.0.1", listener.port(), 5s);
    const TlsError e = tls_error_of([&] {
      TlsStream::client(std::move(tcp), braid::test::trusting_client(), "localhost", 5s);
    });
    CHECK(std::string(e.what()) == "TLS handshake with localhost (" + addr +
                                       "): certificate verify failed (hostname mismatch)");
    CHECK(e.verify_result() == X509_V_ERR_HOSTNAME_MISMATCH);
    REQUIRE(server.join(5s));
  }
  SECTION("an IP address the certificate does not carry") {
    auto server =
        accept_one(listener, TlsContext::server(files.other_cert, files.other_key), server_error);
    const TlsError e = tls_error_of([&] {
      TlsStream::connect("127.0.0.1", listener.port(), braid::test::trusting_client(), 5s);
    });
    CHECK(std::string(e.what()).find("certificate verify failed (IP address mismatch)") !=
          std::string::npos);
    REQUIRE(server.join(5s));
  }
  SECTION("a CA the client does not trust (the system store)") {
    auto server = accept_one(listener, braid::test::good_server(), server_error);
    const TlsError e = tls_error_of(
        [&] { TlsStream::connect("127.0.0.1", listener.port(), TlsContext::client(), 5s); });
    CHECK(std::string(e.what()) ==
          "TLS handshake with " + addr +
              ": certificate verify failed (unable to get local issuer certificate)");
    REQUIRE(server.join(5s));
  }
  SECTION("verify = false accepts any certificate") {
    auto server = accept_one(
        listener, TlsContext::server(files.self_signed_cert, files.self_signed_key), server_error);
    braid::net::TlsClientOptions o;
    o.verify = false;
    TlsStream s = TlsStream::connect("127.0.0.1", listener.port(), TlsContext::client(o), 5s);
    CHECK(s.protocol() == "TLSv1.3");
    s.close();
    REQUIRE(server.join(5s));
    CHECK(server_error.empty());
  }
}

TEST_CASE("TLS contexts and streams refuse misuse and bad files clearly", "[net][tls]") {
  const auto& files = braid::test::tls_files();
  auto conn = braid::test::tcp_pair();
  auto& c = conn.first;
  auto& s = conn.second;
  CHECK_THROWS_AS(TlsStream::client(std::move(c), braid::test::good_server(), "localhost"),
                  std::invalid_argument);
  CHECK_THROWS_WITH(TlsStream::client(TcpStream(), TlsContext::client(), ""),
                    Catch::Contains("no host name to check"));
  braid::net::TlsClientOptions trusting_anything;
  trusting_anything.verify = false;
  CHECK_THROWS_WITH(TlsStream::client(TcpStream(), TlsContext::client(trusting_anything), ""),
                    Catch::Contains("the stream is closed"));
  CHECK_THROWS_AS(TlsStream::accept(std::move(s), TlsContext::client()), std::invalid_argument);
  CHECK_THROWS_WITH(TlsContext::server("/nonexistent/cert.pem", files.server_key),
                    Catch::StartsWith("TLS server context: loading certificate chain "
                                      "/nonexistent/cert.pem: "));
  CHECK_THROWS_WITH(TlsContext::server(files.server_cert, files.other_key),
                    Catch::Contains("does not match certificate"));
  braid::net::TlsClientOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  CHECK_THROWS_WITH(TlsContext::client(o),
                    Catch::StartsWith("TLS client context: loading CA file /nonexistent/ca.pem: "));
  TlsStream closed;
  CHECK_FALSE(closed.is_open());
  CHECK(closed.native_handle() == -1);
  CHECK_THROWS_WITH(closed.recv(1), Catch::Contains("the stream is closed"));
}

TEST_CASE("TLS handshake with a peer that says nothing times out", "[net][tls][timeout]") {
  auto conn = braid::test::tcp_pair();
  auto& c = conn.first;
  auto& s = conn.second;
  SECTION("server side, its own timeout") {
    const auto t0 = Clock::now();
    try {
      TlsStream::accept(std::move(s), braid::test::good_server(), 300ms);
      FAIL("handshake succeeded");
    } catch (const braid::TimeoutError& e) {
      CHECK(std::string(e.what()).find("TLS handshake with 127.0.0.1:") == 0);
      CHECK(std::string(e.what()).find(": timed out after 300ms") != std::string::npos);
    }
    const auto took = Clock::now() - t0;
    CHECK(took >= 300ms);
    CHECK(took < 300ms + kSchedulingSlack);
  }
  SECTION("client side, an enclosing Timeout") {
    const auto t0 = Clock::now();
    braid::Timeout limit(300ms, braid::Timeout::unstarted);
    try {
      limit.start();
      TlsStream::client(std::move(c), braid::test::trusting_client(), "127.0.0.1");
      FAIL("handshake succeeded");
    } catch (const braid::TimeoutError& e) {
      CHECK(e.fired_by(limit));
    }
    CHECK(Clock::now() - t0 < 300ms + kSchedulingSlack);
  }
}

TEST_CASE("a kill during the TLS handshake unwinds it", "[net][tls][kill]") {
  auto conn = braid::test::tcp_pair();
  auto& c = conn.first;
  auto& s = conn.second;
  braid::Event started;
  bool unwound = false;
  auto client = braid::spawn([&, c = std::move(c)]() mutable {
    struct Mark {
      bool& flag;
      ~Mark() { flag = true; }
    } mark{unwound};
    started.set();
    TlsStream::client(std::move(c), braid::test::trusting_client(), "127.0.0.1");
  });
  REQUIRE(started.wait(5s));
  char hello[64];
  REQUIRE(s.recv(hello) > 0);  // the ClientHello is out: the client is parked for the reply
  client.kill();
  REQUIRE(client.join(kSchedulingSlack));
  CHECK(unwound);
  CHECK_FALSE(client.successful());
  // Its socket went with it: the server side reads the end of the stream (a recv that
  // timed out instead would throw and fail the test).
  s.set_timeout(5s);
  while (!s.recv(4096).empty()) {
  }
  CHECK_FALSE(s.recv(1).size() > 0);
}

TEST_CASE("TlsStream timeouts: a receive resumes, a send breaks the stream",
          "[net][tls][timeout]") {
  auto ends = braid::test::tls_pair();
  auto& client = ends.first;
  auto& server = ends.second;
  client.set_timeout(200ms);
  const auto t0 = Clock::now();
  CHECK_THROWS_WITH(client.recv(16), Catch::StartsWith("TLS recv from 127.0.0.1:") &&
                                         Catch::EndsWith(": timed out after 200ms"));
  CHECK(Clock::now() - t0 >= 200ms);
  // Nothing was lost: the stream carries on.
  server.sendall("after");
  CHECK(client.recv(16) == "after");

  // A sendall the peer never reads: it times out mid-record, the stream is unusable.
  const std::string big(32 << 20, 'x');  // more than both socket buffers hold
  CHECK_THROWS_AS(client.sendall(big), braid::TimeoutError);
  CHECK_THROWS_WITH(client.send(std::span<const char>("x", 1)),
                    Catch::Contains("the stream is unusable: an earlier sendall failed or was "
                                    "interrupted in the middle of a TLS record"));
  boost::system::error_code ec;
  client.write_some(boost::asio::buffer("x", 1), ec);
  CHECK(ec == boost::asio::error::operation_aborted);
}

TEST_CASE("TlsStream end of stream: close_notify, a bare TCP close, recv_exact",
          "[net][tls][eof]") {
  auto ends = braid::test::tls_pair();
  auto& client = ends.first;
  auto& server = ends.second;
  SECTION("shutdown sends close_notify: recv returns 0, read_some reports eof") {
    auto closer = braid::spawn([&] { client.shutdown(5s); });
    char buf[8];
    boost::system::error_code ec;
    server.read_some(boost::asio::buffer(buf), ec);
    CHECK(ec == boost::asio::error::eof);
    server.shutdown(5s);  // answers: the client's shutdown completes
    REQUIRE(closer.join(5s));
    closer.get();
    CHECK_THROWS_WITH(client.send(std::span<const char>("x", 1)),
                      Catch::EndsWith(": TLS was shut down"));
  }
  // Each client first reads something: with TLS 1.3 tickets still unread in its socket,
  // its close would be a reset, not a FIN.
  SECTION("a TCP close without close_notify: recv returns 0, read_some says truncated") {
    server.sendall("x");
    CHECK(client.recv(8) == "x");
    client.close();
    CHECK(server.recv(8).empty());
    auto ends2 = braid::test::tls_pair();
    auto& c2 = ends2.first;
    auto& s2 = ends2.second;
    s2.sendall("x");
    CHECK(c2.recv(8) == "x");
    c2.close();
    char buf[8];
    boost::system::error_code ec;
    s2.read_some(boost::asio::buffer(buf), ec);
    CHECK(ec == boost::asio::ssl::error::stream_truncated);
  }
  SECTION("recv_exact: EOFError when the stream ends early") {
    auto closer = braid::spawn([&] {
      client.sendall("abc");
      client.shutdown(5s);  // waits for the server's close_notify
    });
    char buf[8];
    CHECK_THROWS_WITH(server.recv_exact(buf),
                      Catch::EndsWith("peer closed the stream after 3 of 8 bytes"));
    server.shutdown(5s);
    closer.get();
  }
  SECTION("shutdown counts a peer that hangs up as done") {
    server.close();
    client.shutdown(5s);
  }
}

TEST_CASE("Boost.Beast's synchronous HTTP runs over TlsStream", "[net][tls][beast]") {
  namespace http = boost::beast::http;
  auto ends = braid::test::tls_pair();
  auto& client = ends.first;
  auto& server = ends.second;
  auto serve = braid::spawn([&server] {
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(server, buffer, req);
    http::response<http::string_body> res{http::status::ok, 11};
    res.body() = "secure " + std::string(req.target());
    res.prepare_payload();
    http::write(server, res);
  });
  http::request<http::empty_body> req{http::verb::get, "/x", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(client, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(client, buffer, res);
  serve.get();
  CHECK(res.result() == http::status::ok);
  CHECK(res.body() == "secure /x");
}
