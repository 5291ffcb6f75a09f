// Name resolution (net/src/resolve.cpp, Asio's resolver): its errors, its cooperation with
// other coroutines, UDP lookups, and lookups in a forked child.
#include <braid/net/tcp_stream.hpp>
#include <braid/net/udp_socket.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/fork.hpp>

#include "net_test_support.hpp"

#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using braid::net::TcpListener;
using braid::net::TcpStream;
using braid::net::UdpSocket;

TEST_CASE("a name that does not resolve names the call and the host and the reason",
          "[net][unit][resolve]") {
  try {
    TcpStream::connect("no-such-host.invalid", 80, 10s);
    FAIL("connect succeeded");
  } catch (const std::system_error& e) {
    // No such name, or (a sandbox without DNS) no answer at all.
    const auto code = [](boost::asio::error::netdb_errors e) {
      return static_cast<std::error_code>(boost::system::error_code(e));
    };
    const bool not_found = e.code() == code(boost::asio::error::host_not_found);
    const bool no_answer = e.code() == code(boost::asio::error::host_not_found_try_again);
    CHECK((not_found || no_answer));
    CHECK(std::string(e.what()) == "resolve no-such-host.invalid: " + e.code().message());
    CHECK_FALSE(e.code().message().empty());
  }
}

TEST_CASE("a host name with a NUL byte is refused before any lookup", "[net][unit][resolve]") {
  using namespace std::string_view_literals;
  REQUIRE_THROWS_AS(TcpListener::bind("local\0host"sv, 0), std::invalid_argument);
  REQUIRE_THROWS_WITH(UdpSocket::connect("local\0host"sv, 9),
                      "resolve: host name contains a NUL byte");
}

TEST_CASE("the resolving coroutine parks and the others run", "[net][unit][resolve]") {
  bool other_ran = false;
  bool other_ran_first = false;
  auto resolver = braid::spawn([&] {
    auto l = TcpListener::bind("localhost", 0);
    other_ran_first = other_ran;  // queued behind us: ran while we were parked
    return l.port();
  });
  auto other = braid::spawn([&] { other_ran = true; });
  CHECK(resolver.get() != 0);
  other.join();
  CHECK(other_ran_first);
}

TEST_CASE("UDP names resolve too", "[net][unit][resolve]") {
  auto server = UdpSocket::bind("localhost", 0);
  const auto local = server.local_address();
  CHECK((local.host == "127.0.0.1" || local.host == "::1"));
  auto client = UdpSocket::connect(local.host, local.port);
  client.send(std::string_view("ping"));
  char buf[16];
  CHECK(std::string(buf, server.recv(buf)) == "ping");
}

TEST_CASE("a forked child resolves on its own loop", "[net][unit][resolve][fork]") {
  // The parent's lookup starts Asio's resolver thread for the parent's loop; the child
  // has no such thread and must get a fresh one with its fresh io_context.
  auto parent = TcpListener::bind("localhost", 0);
  REQUIRE(parent.port() != 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int failed = 0;
    braid::detail::after_fork_in_child();
    try {
      auto child = TcpListener::bind("localhost", 0);
      if (child.port() == 0) failed |= 1;
      auto c = TcpStream::connect("localhost", child.port(), 5s);
      auto s = child.accept();
      c.sendall("x");
      if (s.recv(1) != "x") failed |= 2;
    } catch (...) {
      failed |= 4;
    }
    ::_exit(failed);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
