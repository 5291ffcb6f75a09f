// poll, ppoll and select on a coroutine park it until a descriptor is ready, or time out.
#include <catch2/catch.hpp>

#include "hooks_test_support.hpp"

#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace braid::test;
using Pair = braid::test::SocketPair;

TEST_CASE("poll parks until a descriptor is ready while other coroutines run") {
  Pair p;
  Ticker ticker(5ms);
  auto writer = braid::spawn([&] {
    braid::sleep(150ms);
    return ::write(p.fd[1], "x", 1);
  });
  auto waiter = braid::spawn([&] {
    pollfd fds[2] = {{-1, POLLIN, 0}, {p.fd[0], POLLIN, 0}};  // negative: ignored
    const int n = ::poll(fds, 2, 5000);
    return std::pair<int, short>{n, fds[1].revents};
  });
  const auto [n, revents] = waiter.get();
  CHECK(n == 1);
  CHECK((revents & POLLIN) != 0);
  CHECK(writer.get() == 1);
  CHECK(ticker.ticks() >= 10);  // 150 ms of 5 ms ticks, with room for a loaded machine
}

TEST_CASE("poll with a timeout returns 0 after it, without blocking the loop") {
  Pair p;
  Ticker ticker(5ms);
  const auto d = time_of([&] {
    auto t = braid::spawn([&] {
      pollfd fd{p.fd[0], POLLIN, 0};
      return ::poll(&fd, 1, 100);
    });
    CHECK(t.get() == 0);
  });
  CHECK(d >= 100ms);
  CHECK(d < 100ms + 1s);
  CHECK(ticker.ticks() >= 5);
}

TEST_CASE("poll reports a ready or invalid descriptor at once") {
  Pair p;
  REQUIRE(::write(p.fd[1], "x", 1) == 1);
  auto t = braid::spawn([&] {
    pollfd fds[2] = {{p.fd[0], POLLIN, 0}, {1000000, POLLIN, 0}};
    const int n = ::poll(fds, 2, -1);
    return std::tuple<int, short, short>{n, fds[0].revents, fds[1].revents};
  });
  const auto [n, r0, r1] = t.get();
  CHECK(n == 2);
  CHECK((r0 & POLLIN) != 0);
  CHECK(r1 == POLLNVAL);
}

TEST_CASE("the same descriptor twice in one poll array waits for either event") {
  Pair p;
  auto writer = braid::spawn([&] {
    braid::sleep(50ms);
    return ::write(p.fd[1], "x", 1);
  });
  auto t = braid::spawn([&] {
    // fd[0] is writable at once, so ask only for input on both entries.
    pollfd fds[2] = {{p.fd[0], POLLIN, 0}, {p.fd[0], POLLPRI | POLLIN, 0}};
    return ::poll(fds, 2, 5000);
  });
  CHECK(t.get() == 2);
  CHECK(writer.get() == 1);
}

TEST_CASE("ppoll parks, and with a signal mask it is libc's") {
  Pair p;
  auto writer = braid::spawn([&] {
    braid::sleep(50ms);
    return ::write(p.fd[1], "x", 1);
  });
  auto t = braid::spawn([&] {
    pollfd fd{p.fd[0], POLLIN, 0};
    timespec ts{5, 0};
    return ::ppoll(&fd, 1, &ts, nullptr);
  });
  CHECK(t.get() == 1);
  CHECK(writer.get() == 1);
  auto bad = braid::spawn([&] {
    pollfd fd{p.fd[0], POLLIN, 0};
    timespec ts{0, -1};
    const int r = ::ppoll(&fd, 1, &ts, nullptr);
    return std::pair<int, int>{r, errno};
  });
  CHECK(bad.get() == std::pair<int, int>{-1, EINVAL});
  auto masked = braid::spawn([&] {
    pollfd fd{p.fd[0], POLLIN, 0};  // still readable: returns at once
    timespec ts{1, 0};
    sigset_t none;
    sigemptyset(&none);
    return ::ppoll(&fd, 1, &ts, &none);
  });
  CHECK(masked.get() == 1);
}

TEST_CASE("select parks until readable, updates the sets and the time left") {
  Pair p;
  Ticker ticker(5ms);
  auto writer = braid::spawn([&] {
    braid::sleep(100ms);
    return ::write(p.fd[1], "x", 1);
  });
  auto t = braid::spawn([&] {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p.fd[0], &r);
    timeval tv{5, 0};
    const int n = ::select(p.fd[0] + 1, &r, nullptr, nullptr, &tv);
    return std::tuple<int, bool, long>{n, FD_ISSET(p.fd[0], &r) != 0, tv.tv_sec};
  });
  const auto [n, set, secs_left] = t.get();
  CHECK(n == 1);
  CHECK(set);
  CHECK(secs_left <= 4);  // about 4.9 s left
  CHECK(writer.get() == 1);
  CHECK(ticker.ticks() >= 5);
}

TEST_CASE("select times out with empty sets, and fails on a closed descriptor") {
  Pair p;
  auto t = braid::spawn([&] {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p.fd[0], &r);
    timeval tv{0, 50'000};
    const int n = ::select(p.fd[0] + 1, &r, nullptr, nullptr, &tv);
    return std::pair<int, bool>{n, FD_ISSET(p.fd[0], &r) != 0};
  });
  CHECK(t.get() == std::pair<int, bool>{0, false});
  int spare[2];
  REQUIRE(::pipe(spare) == 0);
  ::close(spare[1]);
  const int closed = spare[1];
  auto bad = braid::spawn([&] {
    fd_set w;
    FD_ZERO(&w);
    FD_SET(closed, &w);
    timeval tv{1, 0};
    const int n = ::select(closed + 1, nullptr, &w, nullptr, &tv);
    return std::pair<int, int>{n, errno};
  });
  CHECK(bad.get() == std::pair<int, int>{-1, EBADF});
  ::close(spare[0]);
  auto big = braid::spawn([&] {
    const int n = ::select(FD_SETSIZE + 1, nullptr, nullptr, nullptr, nullptr);
    return std::pair<int, int>{n, errno};
  });
  CHECK(big.get() == std::pair<int, int>{-1, EINVAL});
}
