// A kill or braid::Timeout while parked in a hooked call: the call fails with ECANCELED
// or ETIMEDOUT (C code cannot be unwound), later hooked calls that would wait fail at
// once, and the next braid call throws.
#include <catch2/catch.hpp>

#include "blocking_client.h"
#include "hooks_test_support.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace braid::test;
using Pair = braid::test::SocketPair;

TEST_CASE("a kill while parked in a hooked recv returns ECANCELED, then GreenletExit") {
  Pair p;
  long first = 0, second = 0;
  bool rethrown = false;
  braid::Event parked;
  auto t = braid::spawn([&] {
    char c;
    parked.set();
    first = bc_recv_once(p.fd[0], &c, 1);
    second = bc_recv_once(p.fd[0], &c, 1);  // a C retry loop ends: fails at once
    try {
      braid::sleep(1s);  // the next braid call delivers the kill
    } catch (const braid::GreenletExit&) {
      rethrown = true;
      throw;
    }
  });
  parked.wait();
  braid::sleep(20ms);
  t.kill();
  CHECK(first == -ECANCELED);
  CHECK(second == -ECANCELED);
  CHECK(rethrown);
  CHECK(t.ready());
}

TEST_CASE("a braid::Timeout around a hooked recv returns ETIMEDOUT, then TimeoutError") {
  Pair p;
  auto t = braid::spawn([&] {
    braid::Timeout limit(100ms);
    char c;
    long r = 0;
    const auto d = time_of([&] { r = bc_recv_once(p.fd[0], &c, 1); });
    CHECK(r == -ETIMEDOUT);
    CHECK(d < 100ms + 1s);
    try {
      braid::sleep(1s);
    } catch (const braid::TimeoutError& e) {
      return e.fired_by(limit);
    }
    return false;
  });
  CHECK(t.get());
}

TEST_CASE("a Timeout that ends after the C call returned is withdrawn with its scope") {
  Pair p;
  auto t = braid::spawn([&] {
    long r = 0;
    {
      braid::Timeout limit(50ms);
      char c;
      r = bc_recv_once(p.fd[0], &c, 1);
    }
    braid::sleep(10ms);  // nothing pending any more
    return r;
  });
  CHECK(t.get() == -ETIMEDOUT);
}

TEST_CASE("a kill during a hooked sleep ends it early with the time left") {
  braid::Event started;
  int rc = 0, err = 0;
  long left_ms = 0;
  auto t = braid::spawn([&] {
    started.set();
    timespec req{5, 0}, rem{};
    rc = ::nanosleep(&req, &rem);
    err = errno;
    left_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1'000'000;
  });
  started.wait();
  braid::sleep(20ms);
  t.kill();
  CHECK(rc == -1);
  CHECK(err == ECANCELED);
  CHECK(left_ms > 3000);
}

TEST_CASE("a kill while a hooked getaddrinfo runs returns its result, then GreenletExit") {
  braid::Event started;
  int rc = -1;
  bool killed = false;
  auto t = braid::spawn([&] {
    started.set();
    addrinfo* res = nullptr;
    addrinfo hints{};
    hints.ai_family = AF_INET;
    rc = ::getaddrinfo("127.0.0.1", "80", &hints, &res);
    if (res != nullptr) ::freeaddrinfo(res);
    try {
      braid::sleep(1s);
    } catch (const braid::GreenletExit&) {
      killed = true;
      throw;
    }
  });
  started.wait();
  t.kill();
  CHECK(killed);
  CHECK(rc == 0);
}

TEST_CASE("a killed coroutine's hooked connect and poll fail at once") {
  Pair p;
  braid::Event parked;
  std::vector<int> errs;
  auto t = braid::spawn([&] {
    char c;
    parked.set();
    bc_recv_once(p.fd[0], &c, 1);  // interrupted here
    errs.push_back(-bc_connect(9));
    pollfd fd{p.fd[0], POLLIN, 0};
    errs.push_back(::poll(&fd, 1, 1000) == -1 ? errno : 0);
    errs.push_back(::usleep(1000) == -1 ? errno : 0);
    braid::sleep(1s);
  });
  parked.wait();
  t.kill();
  CHECK(errs == std::vector<int>{ECANCELED, ECANCELED, ECANCELED});
}
