// connect, accept, SO_RCVTIMEO/SO_SNDTIMEO, large sends and name lookups on coroutines.
#include <catch2/catch.hpp>

#include "blocking_client.h"
#include "hooks_test_support.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace braid::test;
using Pair = braid::test::SocketPair;

namespace {

void set_timeout(int fd, int opt, braid::Duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
  REQUIRE(::setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0);
}

// A blocking listener on 127.0.0.1 (made with plain calls, as a C server would).
int c_listener(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

TEST_CASE("SO_RCVTIMEO bounds a parked recv: -1/EAGAIN after it, the loop running") {
  Pair p;
  set_timeout(p.fd[0], SO_RCVTIMEO, 150ms);
  Ticker ticker(5ms);
  auto t = braid::spawn([&] {
    char c;
    long r = 0;
    const auto d = time_of([&] { r = bc_recv_once(p.fd[0], &c, 1); });
    return std::pair<long, braid::Duration>{r, d};
  });
  const auto [r, d] = t.get();
  CHECK(r == -EAGAIN);
  CHECK(d >= 150ms);
  CHECK(d < 150ms + 1s);
  CHECK(ticker.ticks() >= 5);
}

TEST_CASE("SO_SNDTIMEO bounds a parked send: the count sent so far") {
  Pair p;
  set_timeout(p.fd[0], SO_SNDTIMEO, 100ms);
  auto t = braid::spawn([&] {
    const std::string big(8 << 20, 'x');  // far more than the socket buffers hold
    return ::send(p.fd[0], big.data(), big.size(), 0);
  });
  const ssize_t sent = t.get();
  CHECK(sent > 0);
  CHECK(sent < (8 << 20));
}

TEST_CASE("a blocking send bigger than the socket buffer completes as the peer reads") {
  Pair p;
  constexpr std::size_t kSize = 4 << 20;
  auto reader = braid::spawn([&] {
    std::vector<char> buf(kSize);
    return bc_recv_all(p.fd[1], buf.data(), buf.size()) == 0 && buf.back() == 'b';
  });
  auto writer = braid::spawn([&] {
    std::string a(kSize / 2, 'a'), b(kSize / 2, 'b');
    iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    return ::writev(p.fd[0], iov, 2);
  });
  CHECK(writer.get() == static_cast<ssize_t>(kSize));
  CHECK(reader.get());
}

TEST_CASE("recv with MSG_WAITALL gathers the whole length") {
  Pair p;
  auto writer = braid::spawn([&] {
    for (char c : std::string("abcd")) {
      braid::sleep(10ms);
      REQUIRE(::write(p.fd[1], &c, 1) == 1);
    }
  });
  auto reader = braid::spawn([&] {
    char buf[4];
    const ssize_t n = ::recv(p.fd[0], buf, 4, MSG_WAITALL);
    return std::string(buf, n > 0 ? n : 0);
  });
  CHECK(reader.get() == "abcd");
  writer.join();
}

TEST_CASE("a refused connect reports ECONNREFUSED") {
  std::uint16_t port = 0;
  const int l = c_listener(port);
  ::close(l);  // nothing listens there now
  auto t = braid::spawn([&] { return bc_connect(port); });
  CHECK(t.get() == -ECONNREFUSED);
}

TEST_CASE("accept on a blocking listener parks and several acceptors share it") {
  std::uint16_t port = 0;
  const int l = c_listener(port);
  Ticker ticker(5ms);
  std::vector<braid::Task<int>> acceptors;
  for (int i = 0; i < 3; ++i) {
    acceptors.push_back(braid::spawn([&] {
      const int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) ::close(c);
      return c >= 0 ? 1 : -errno;
    }));
  }
  std::vector<braid::Task<int>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(braid::spawn([&] {
      braid::sleep(50ms);
      const int fd = bc_connect(port);
      if (fd >= 0) ::close(fd);
      return fd >= 0 ? 1 : fd;
    }));
  }
  for (auto& c : clients) CHECK(c.get() == 1);
  for (auto& a : acceptors) CHECK(a.get() == 1);
  CHECK(ticker.ticks() >= 5);
  ::close(l);
}

TEST_CASE("SO_RCVTIMEO bounds a parked accept") {
  std::uint16_t port = 0;
  const int l = c_listener(port);
  set_timeout(l, SO_RCVTIMEO, 100ms);
  auto t = braid::spawn([&] {
    const int c = ::accept(l, nullptr, nullptr);
    return c < 0 ? errno : 0;
  });
  CHECK(t.get() == EAGAIN);
  ::close(l);
}

TEST_CASE("getaddrinfo runs on the thread pool while the loop runs") {
  Ticker ticker(1ms);
  auto t = braid::spawn([] {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo("localhost", "80", &hints, &res);
    std::string addr;
    if (rc == 0) {
      char buf[INET_ADDRSTRLEN];
      auto* sin = reinterpret_cast<sockaddr_in*>(res->ai_addr);
      addr = ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
      ::freeaddrinfo(res);
    }
    return addr;
  });
  CHECK(t.get() == "127.0.0.1");
  CHECK(braid::detail::thread_pool_size() >= 1);  // it ran there
  auto bad = braid::spawn([] {
    addrinfo* res = nullptr;
    return ::getaddrinfo(nullptr, nullptr, nullptr, &res);
  });
  CHECK(bad.get() == EAI_NONAME);
}

TEST_CASE("getnameinfo runs on the thread pool too") {
  auto t = braid::spawn([] {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(80);
    char host[64], serv[32];
    const int rc = ::getnameinfo(reinterpret_cast<sockaddr*>(&a), sizeof a, host, sizeof host,
                                 serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    return rc == 0 ? std::string(host) + ":" + serv : std::string("error");
  });
  CHECK(t.get() == "127.0.0.1:80");
}
