#include <braid/runtime/detail/readiness_set.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "pipe_support.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>

using namespace std::chrono_literals;
using braid::detail::ReadinessSet;

using Pipe = braid::test::NonBlockingPipe;
using braid::test::fill;

TEST_CASE("ReadinessSet parks only the caller until a member turns readable",
          "[runtime][readiness_set]") {
  Pipe a, b;
  ReadinessSet set;
  set.add(a.r, ReadinessSet::readable, "test");
  set.add(b.r, ReadinessSet::readable, "test");
  // The writer runs only once the caller has parked: nothing is ready before.
  bool wrote = false;
  auto writer = braid::spawn([&] {
    b.put('x');
    wrote = true;
  });
  const auto ready = set.wait(5s, 4, "test");
  CHECK(wrote);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].fd == b.r);
  CHECK(ready[0].events == ReadinessSet::readable);
  writer.join();
  // Level-triggered: still ready until read.
  CHECK(set.wait(0s, 4, "test").size() == 1);
}

TEST_CASE("ReadinessSet reports writability, and modify changes the interest",
          "[runtime][readiness_set]") {
  Pipe p;
  ReadinessSet set;
  set.add(p.w, ReadinessSet::writable, "test");
  auto ready = set.wait(0s, 1, "test");
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].fd == p.w);
  CHECK((ready[0].events & ReadinessSet::writable) != 0);
  fill(p.w);
  CHECK(set.wait(10ms, 1, "test").empty());  // full: not writable
  char drain[1 << 16];
  REQUIRE(::read(p.r, drain, sizeof drain) > 0);
  CHECK(set.wait(5s, 1, "test").size() == 1);
  set.modify(p.w, ReadinessSet::readable, "test");  // a write end is never readable
  CHECK(set.wait(0s, 1, "test").empty());
}

TEST_CASE("ReadinessSet waits time out no earlier than the timeout", "[runtime][readiness_set]") {
  Pipe p;
  ReadinessSet set;
  set.add(p.r, ReadinessSet::readable, "test");
  std::vector<ReadinessSet::Ready> ready{{-1, 0}};
  const auto took = braid::test::time_of([&] { ready = set.wait(30ms, 1, "test"); });
  CHECK(ready.empty());
  CHECK(took >= 30ms);
  CHECK(took < 30ms + braid::test::kSchedulingSlack);
  // Zero: a poll, never a park.
  CHECK(set.wait(0s, 1, "test").empty());
}

TEST_CASE("ReadinessSet reports a hang-up as readable and writable", "[runtime][readiness_set]") {
  Pipe p;
  ReadinessSet set;
  set.add(p.r, ReadinessSet::readable | ReadinessSet::peer_closed, "test");
  ::close(p.w);
  p.w = -1;
  const auto ready = set.wait(5s, 1, "test");
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].events == (ReadinessSet::readable | ReadinessSet::writable));
}

TEST_CASE("ReadinessSet waits end with a kill or an enclosing Timeout, and the set stays usable",
          "[runtime][readiness_set]") {
  Pipe p;
  ReadinessSet set;
  set.add(p.r, ReadinessSet::readable, "test");
  auto waiter = braid::spawn([&] { return set.wait(std::nullopt, 1, "test").size(); });
  braid::yield_now();  // parked in the wait
  waiter.kill();
  CHECK_FALSE(waiter.successful());
  {
    braid::Timeout t(10ms);
    try {
      (void)set.wait(std::nullopt, 1, "test");
      FAIL("no timeout");
    } catch (const braid::TimeoutError& e) {
      CHECK(e.fired_by(t));
    }
  }
  p.put('k');
  CHECK(set.wait(5s, 1, "test").size() == 1);
}

TEST_CASE("ReadinessSet refuses descriptors it cannot watch, naming them and the call",
          "[runtime][readiness_set]") {
  ReadinessSet set;
  SECTION("a closed descriptor") {
    (void)braid::Hub::current().context();  // its descriptors must not take the closed numbers
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    ::close(fds[0]);
    ::close(fds[1]);
    try {
      set.add(fds[0], ReadinessSet::readable, "test add");
      FAIL("added a closed descriptor");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EBADF);
      CHECK_THAT(e.what(), Catch::Contains("test add: fd " + std::to_string(fds[0])));
    }
  }
  SECTION("a regular file") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    try {
      set.add(::fileno(f), ReadinessSet::readable, "test add");
      FAIL("added a regular file");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EPERM);
      CHECK_THAT(e.what(), Catch::Contains("does not support readiness"));
    }
    std::fclose(f);
  }
  SECTION("a member twice, or a change to a stranger") {
    Pipe p;
    set.add(p.r, ReadinessSet::readable, "test");
    REQUIRE_THROWS_AS(set.add(p.r, ReadinessSet::readable, "test"), std::system_error);
    REQUIRE_THROWS_AS(set.modify(p.w, ReadinessSet::writable, "test"), std::system_error);
    set.remove(p.r);
    set.remove(p.r);  // twice: a no-op
    set.add(p.r, ReadinessSet::readable, "test");
  }
}

TEST_CASE("closing a ReadinessSet wakes a parked waiter with EBADF", "[runtime][readiness_set]") {
  Pipe p;
  ReadinessSet set;
  set.add(p.r, ReadinessSet::readable, "test");
  const int epfd = set.fd();
  auto waiter = braid::spawn([&] { (void)set.wait(5s, 1, "test wait"); });
  braid::yield_now();
  set.close();
  CHECK_FALSE(set.is_open());
  CHECK(set.fd() == -1);
  CHECK(::fcntl(epfd, F_GETFD) == -1);  // the epoll descriptor is closed
  try {
    waiter.get();
    FAIL("the waiter was not woken");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBADF);
  }
  try {
    (void)set.wait(0s, 1, "test wait");
    FAIL("waited on a closed set");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBADF);
    CHECK_THAT(e.what(), Catch::Contains("test wait: the readiness set is closed"));
  }
  set.remove(p.r);  // a no-op once closed
}

TEST_CASE("a moved ReadinessSet keeps its members; it opens and closes no more descriptors",
          "[runtime][readiness_set]") {
  Pipe p;
  (void)braid::Hub::current().context();
  const std::size_t before = braid::test::open_fd_count();
  {
    ReadinessSet a;
    a.add(p.r, ReadinessSet::readable, "test");
    ReadinessSet b = std::move(a);
    CHECK_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): the moved-from state
    auto writer = braid::spawn([&] { p.put('m'); });
    CHECK(b.wait(5s, 1, "test").size() == 1);
    writer.join();
    // The epoll set and the one duplicate registered with the hub.
    CHECK(braid::test::open_fd_count() == before + 2);
  }
  CHECK(braid::test::open_fd_count() == before);
}
