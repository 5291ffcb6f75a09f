#include <braid/net/udp_socket.hpp>
#include <braid/net/unix_socket.hpp>

#include "net_test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <string>

using namespace std::chrono_literals;
using namespace braid::net;

TEST_CASE("UDP sendto/recvfrom round trip", "[net][unit]") {
  auto server = UdpSocket::bind("127.0.0.1", 0);
  auto client = UdpSocket::connect("127.0.0.1", server.port());
  auto echo = braid::spawn([&] {
    char buf[64];
    auto [n, from] = server.recvfrom(buf);
    server.sendto(std::span<const char>(buf, n), from);
    return from;
  });
  client.send(std::string_view("ping"));
  char buf[64];
  CHECK(client.recv(buf) == 4);
  REQUIRE(echo.join(5s));
  CHECK(echo.get().port == client.port());
  auto loose = UdpSocket::open();
  loose.sendto("hello", "127.0.0.1", server.port());
  auto [n, from] = server.recvfrom(buf);
  CHECK(std::string(buf, n) == "hello");
  CHECK(from.host == "127.0.0.1");
}

TEST_CASE("UDP recv honours set_timeout", "[net][unit]") {
  auto s = UdpSocket::bind("127.0.0.1", 0);
  s.set_timeout(50ms);
  char buf[8];
  CHECK_THROWS_AS(s.recv(buf), braid::TimeoutError);
}

TEST_CASE("Unix stream sockets: listener, connect, pair", "[net][unit]") {
  const std::string path = "/tmp/braid-net-test-" + std::to_string(::getpid()) + ".sock";
  {
    auto listener = UnixListener::bind(path);
    auto client = UnixStream::connect(path, 5s);
    auto server = listener.accept();
    client.sendall("over unix");
    CHECK(server.recv(32) == "over unix");
    CHECK_THROWS_WITH(UnixListener::bind(path), Catch::Contains("bind " + path));
  }
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) != 0);  // removed on close
  CHECK_THROWS_WITH(UnixStream::connect(path), Catch::Contains("connect " + path));
  auto [a, b] = UnixStream::pair();
  a.sendall("pair");
  char buf[4];
  b.recv_exact(buf);
  CHECK(std::string(buf, 4) == "pair");
  auto abstract = UnixListener::bind("@braid-test-" + std::to_string(::getpid()));
  auto c = UnixStream::connect(abstract.path());
  auto s = abstract.accept();
  c.sendall("abstract");
  CHECK(s.recv(16) == "abstract");
}
