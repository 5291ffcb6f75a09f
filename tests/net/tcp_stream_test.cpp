#include <braid/net/tcp_stream.hpp>

#include "net_test_support.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using braid::net::TcpListener;
using braid::net::TcpStream;

TEST_CASE("TcpStream round trip from main, without spawning", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  client.sendall("hello");
  char buf[5];
  server.recv_exact(buf);
  CHECK(std::string(buf, 5) == "hello");
  server.sendall("world!");
  CHECK(client.recv(64) == "world!");
  CHECK(client.peer_address().host == "127.0.0.1");
  CHECK(server.local_address().port == client.peer_address().port);
}

TEST_CASE("connect resolves localhost on the thread pool", "[net][unit]") {
  auto listener = TcpListener::bind("localhost", 0);
  auto c = TcpStream::connect("localhost", listener.port(), 5s);
  auto s = listener.accept();
  c.sendall("x");
  CHECK(s.recv(1) == "x");
}

TEST_CASE("every socket descriptor is close-on-exec", "[net][unit]") {
  auto listener = TcpListener::bind("127.0.0.1", 0);
  auto c = TcpStream::connect("127.0.0.1", listener.port());
  auto s = listener.accept();
  for (int fd : {listener.native_handle(), c.native_handle(), s.native_handle()}) {
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  }
}

TEST_CASE("connect to a closed port reports the peer and errno", "[net][unit]") {
  std::uint16_t port;
  {
    auto l = TcpListener::bind("127.0.0.1", 0);
    port = l.port();
  }
  try {
    TcpStream::connect("127.0.0.1", port, 5s);
    FAIL("connect succeeded");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::connection_refused);
    CHECK(std::string(e.what()).find("connect 127.0.0.1:" + std::to_string(port)) == 0);
  }
}

TEST_CASE("resolving a bad name is a clear error", "[net][unit]") {
  REQUIRE_THROWS_WITH(TcpStream::connect("no-such-host.invalid", 80, 10s),
                      Catch::Contains("resolve no-such-host.invalid"));
}

TEST_CASE("half-close: the peer reads EOF and can still answer", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  client.sendall("request");
  client.shutdown_write();
  std::string got;
  char buf[16];
  while (std::size_t n = server.recv(buf)) got.append(buf, n);
  CHECK(got == "request");
  server.sendall("reply");
  server.close();
  CHECK(client.recv(16) == "reply");
  CHECK(client.recv(16).empty());
}

TEST_CASE("peer reset mid-stream is a system_error naming the peer", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  braid::Event parked;
  auto reader = braid::spawn([&, &server = server] {
    char buf[64];
    parked.set();
    for (;;) server.recv(buf);
  });
  REQUIRE(parked.wait(5s));
  client.sendall("some data");
  linger lg{1, 0};  // close with RST
  REQUIRE(setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  client.close();
  REQUIRE(reader.join(5s));
  try {
    reader.get();
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::connection_reset);
    CHECK(std::string(e.what()).find("recv from 127.0.0.1:") == 0);
  }
  // Sending to a reset connection fails with EPIPE/ECONNRESET, never SIGPIPE.
  auto [c2, s2] = braid::test::tcp_pair();
  REQUIRE(setsockopt(c2.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  c2.close();
  std::string big(1 << 20, 'x');
  CHECK_THROWS_AS(
      [&] {
        for (int i = 0; i < 100; ++i) s2.sendall(big);
      }(),
      std::system_error);
}

TEST_CASE("recv_exact throws EOFError when the peer closes early", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  client.sendall("abc");
  client.close();
  char buf[10];
  REQUIRE_THROWS_AS(server.recv_exact(buf), braid::EOFError);
}

TEST_CASE("set_timeout limits each call", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  server.set_timeout(100ms);
  char buf[4];
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(server.recv(buf), braid::TimeoutError);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 100ms);
  CHECK(took < 100ms + braid::test::kSchedulingSlack);
  // The socket is still usable afterwards.
  client.sendall("ok");
  CHECK(server.recv(buf) == 2);
  server.set_timeout(std::nullopt);
  CHECK(!server.timeout());
}

TEST_CASE("a timeout cancels only its own operation", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  braid::Event both_parked;
  int parked = 0;
  auto timed = braid::spawn([&, &server = server] {
    braid::Timeout limit(100ms);
    char b[8];
    if (++parked == 2) both_parked.set();
    server.recv(b);
  });
  auto patient = braid::spawn([&, &server = server] {
    char b[8];
    if (++parked == 2) both_parked.set();
    return server.recv(b);
  });
  REQUIRE(both_parked.wait(5s));
  REQUIRE(timed.join(5s));
  CHECK_THROWS_AS(timed.get(), braid::TimeoutError);
  CHECK_FALSE(patient.ready());  // still parked in its own recv
  client.sendall("late");
  REQUIRE(patient.join(5s));
  CHECK(patient.get() == 4);
}

TEST_CASE("an enclosing Timeout interrupts connect, recv and sendall", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  char b[8];
  {
    braid::Timeout t(50ms);
    REQUIRE_THROWS_AS(server.recv(b), braid::TimeoutError);
  }
  std::string big(64 << 20, 'z');  // far more than the socket buffers hold
  braid::Timeout t(100ms);
  try {
    client.sendall(big);
    FAIL("sendall finished");
  } catch (const braid::TimeoutError& e) {
    CHECK(e.fired_by(t));
  }
}

TEST_CASE("kill() unwinds a task parked in recv", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  braid::Event parked;
  auto reader = braid::spawn([&, &server = server] {
    parked.set();
    char c;
    server.recv({&c, 1});
  });
  REQUIRE(parked.wait(5s));
  reader.kill();
  REQUIRE(reader.ready());
  REQUIRE_FALSE(reader.successful());
  // The socket is intact: the next read gets the data.
  client.sendall("k");
  CHECK(server.recv(1) == "k");
}

TEST_CASE("closing a socket wakes a coroutine parked on it", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  braid::Event parked;
  auto reader = braid::spawn([&, &server = server] {
    parked.set();
    char c;
    server.recv({&c, 1});
  });
  REQUIRE(parked.wait(5s));
  server.close();
  REQUIRE(reader.join(5s));
  CHECK_THROWS_AS(reader.get(), std::system_error);
  CHECK_THROWS_AS(server.recv(1), std::system_error);
}

TEST_CASE("sendall of a large buffer against a slow reader parks and completes", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  std::string data(8 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
  auto writer = braid::spawn([&, &client = client] {
    client.sendall(data);
    client.shutdown_write();
  });
  std::string got;
  char buf[65536];
  while (std::size_t n = server.recv(buf)) got.append(buf, n);
  REQUIRE(writer.join(5s));
  writer.get();
  CHECK(got == data);
}

TEST_CASE("TcpStream models SyncReadStream/SyncWriteStream", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  std::array<boost::asio::const_buffer, 2> out{boost::asio::buffer("ab", 2),
                                               boost::asio::buffer("cd", 2)};
  CHECK(boost::asio::write(client, out) == 4);
  char buf[4];
  CHECK(boost::asio::read(server, boost::asio::buffer(buf)) == 4);
  CHECK(std::string(buf, 4) == "abcd");
  client.close();
  boost::system::error_code ec;
  CHECK(server.read_some(boost::asio::buffer(buf), ec) == 0);
  CHECK(ec == boost::asio::error::eof);
  server.set_timeout(10ms);
  auto [c2, s2] = braid::test::tcp_pair();
  s2.set_timeout(10ms);
  s2.read_some(boost::asio::buffer(buf), ec);
  CHECK(ec == boost::asio::error::timed_out);
}

TEST_CASE("operations on a closed or default socket throw clearly", "[net][unit]") {
  TcpStream s;
  CHECK_FALSE(s.is_open());
  CHECK(s.native_handle() == -1);
  CHECK_THROWS_AS(s.recv(1), std::system_error);
  CHECK_THROWS_AS(s.sendall("x"), std::system_error);
  s.close();  // no-op
  TcpListener l;
  CHECK_THROWS_AS(l.accept(), std::system_error);
}
