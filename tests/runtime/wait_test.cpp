#include <braid/runtime/wait.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/fork.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <boost/asio/error.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {
struct PipePair {
  int r = -1, w = -1;
  PipePair() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~PipePair() {
    ::close(r);
    ::close(w);
  }
};
}  // namespace

TEST_CASE("wait_readable parks only the caller until data arrives", "[runtime][wait]") {
  PipePair p;
  int ticks = 0;
  auto ticker = braid::spawn([&] {
    for (;;) {
      braid::sleep(1ms);
      ++ticks;
    }
  });
  auto reader = braid::spawn([&] {
    braid::wait_readable(p.r);
    char c = 0;
    REQUIRE(::read(p.r, &c, 1) == 1);
    return c;
  });
  braid::sleep(30ms);
  REQUIRE_FALSE(reader.ready());
  REQUIRE(ticks > 0);  // the hub kept running other coroutines
  REQUIRE(::write(p.w, "x", 1) == 1);
  REQUIRE(reader.get() == 'x');
  ticker.kill();
}

TEST_CASE("wait_readable works from main (runs the hub)", "[runtime][wait]") {
  PipePair p;
  braid::spawn([&] {
    braid::sleep(5ms);
    REQUIRE(::write(p.w, "y", 1) == 1);
  });
  braid::wait_readable(p.r, 5s);
  char c = 0;
  REQUIRE(::read(p.r, &c, 1) == 1);
  REQUIRE(c == 'y');
}

TEST_CASE("wait_readable times out no earlier than its timeout", "[runtime][wait]") {
  PipePair p;
  const auto took = braid::test::time_of([&] {
    REQUIRE_THROWS_WITH(braid::wait_readable(p.r, 50ms),
                        Catch::Contains("wait_readable fd") && Catch::Contains("timed out"));
  });
  REQUIRE(took >= 50ms);
  REQUIRE(took < 50ms + braid::test::kSchedulingSlack);
}

TEST_CASE("wait_writable returns at once on a writable pipe", "[runtime][wait]") {
  PipePair p;
  braid::wait_writable(p.w, 1s);
}

TEST_CASE("a blocking descriptor stays blocking through waits, timed out or not",
          "[runtime][wait]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);  // both ends blocking
  struct Pipe {
    int r, w;
    ~Pipe() {
      ::close(r);
      ::close(w);
    }
  } p{fds[0], fds[1]};
  const auto blocking = [](int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) == 0; };
  REQUIRE(blocking(p.r));
  REQUIRE(blocking(p.w));
  // A coroutine waits while the descriptor must already be blocking again: a plain
  // blocking call made by other code during the wait keeps its meaning.
  bool blocking_during_wait = false;
  auto waiter = braid::spawn([&] { braid::wait_readable(p.r, 5s); });
  braid::spawn([&] {
    blocking_during_wait = blocking(p.r);
    REQUIRE(::write(p.w, "x", 1) == 1);
  });
  waiter.get();
  CHECK(blocking_during_wait);
  CHECK(blocking(p.r));
  char c;
  REQUIRE(::read(p.r, &c, 1) == 1);
  CHECK_THROWS_AS(braid::wait_readable(p.r, 10ms), braid::TimeoutError);
  CHECK(blocking(p.r));
  braid::wait_writable(p.w, 1s);
  CHECK(blocking(p.w));
  // A descriptor the caller made non-blocking stays so.
  REQUIRE(::fcntl(p.w, F_SETFL, ::fcntl(p.w, F_GETFL) | O_NONBLOCK) == 0);
  braid::wait_writable(p.w, 1s);
  CHECK_FALSE(blocking(p.w));
}

TEST_CASE("waiting on a descriptor that is not open is a system_error naming it",
          "[runtime][wait]") {
  braid::Hub::current();  // its own descriptors are open before we pick a free number
  const int closed_fd = ::fcntl(0, F_DUPFD_CLOEXEC, 900);
  REQUIRE(closed_fd >= 900);
  ::close(closed_fd);
  for (int fd : {closed_fd, -1}) {
    try {
      braid::wait_readable(fd, 1s);
      FAIL("no exception");
    } catch (const std::system_error& e) {
      REQUIRE(e.code().value() == EBADF);
      REQUIRE_THAT(e.what(), Catch::Contains("wait_readable fd " + std::to_string(fd)));
    }
  }
}

TEST_CASE("with every descriptor below 1024 taken, a wait works, or select refuses it clearly",
          "[runtime][wait]") {
  rlimit rl{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2100) {
    WARN("not run: the hard descriptor limit is below 2100");
    return;
  }
  const rlimit saved = rl;
  rl.rlim_cur = 2100;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &rl) == 0);
  braid::Hub::current();  // the hub's own descriptors first
  PipePair p;
  REQUIRE(::write(p.w, "x", 1) == 1);
  // The wait duplicates the descriptor into the lowest free number: take them all.
  std::vector<int> fillers;
  for (int fd = ::dup(p.w); fd >= 0; fd = ::dup(p.w)) {
    fillers.push_back(fd);
    if (fd >= 1024) break;
  }
  const int lowest_free = ::fcntl(p.w, F_DUPFD_CLOEXEC, 0);
  ::close(lowest_free);
  REQUIRE(lowest_free >= 1024);
#if defined(BOOST_ASIO_DISABLE_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING)
  try {
    braid::wait_readable(p.r, 1s);
    FAIL("select accepted a descriptor above FD_SETSIZE");
  } catch (const std::system_error& e) {
    CHECK(e.code() ==
          std::error_code(boost::system::error_code(boost::asio::error::fd_set_failure)));
    CHECK_THAT(e.what(), Catch::Contains("wait_readable fd " + std::to_string(p.r)) &&
                             Catch::Contains("fd_set"));
  }
#else
  braid::wait_readable(p.r, 1s);
#endif
  for (int fd : fillers) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved);
}

TEST_CASE("kill cancels only the killed coroutine's wait on a shared descriptor",
          "[runtime][wait]") {
  PipePair p;
  braid::Event a_parked, b_parked;
  auto a = braid::spawn([&] {
    a_parked.set();
    braid::wait_readable(p.r);
  });
  auto b = braid::spawn([&] {
    b_parked.set();
    braid::wait_readable(p.r);
    return true;
  });
  REQUIRE(a_parked.wait(5s));
  REQUIRE(b_parked.wait(5s));
  braid::yield_now();
  a.kill();
  REQUIRE(a.ready());
  REQUIRE_FALSE(a.successful());
  REQUIRE_FALSE(b.ready());
  REQUIRE(::write(p.w, "z", 1) == 1);
  REQUIRE(b.get());
}

TEST_CASE("an enclosing Timeout interrupts wait_readable", "[runtime][wait]") {
  PipePair p;
  braid::Timeout limit(30ms);
  REQUIRE_THROWS_AS(braid::wait_readable(p.r), braid::TimeoutError);
  REQUIRE(limit.expired());
}

TEST_CASE("to_thread runs on another thread and returns its value", "[runtime][thread]") {
  const auto me = std::this_thread::get_id();
  auto id = braid::to_thread([] { return std::this_thread::get_id(); });
  REQUIRE(id != me);
  REQUIRE(braid::to_thread([] { return std::string("from a thread"); }) == "from a thread");
  int x = 0;
  int& ref = braid::to_thread([&]() -> int& { return x; });
  REQUIRE(&ref == &x);
}

TEST_CASE("to_thread rethrows the thread's exception", "[runtime][thread]") {
  REQUIRE_THROWS_WITH(braid::to_thread([]() -> int { throw std::runtime_error("in thread"); }),
                      "in thread");
}

TEST_CASE("to_thread parks only the caller", "[runtime][thread]") {
  int ticks = 0;
  auto ticker = braid::spawn([&] {
    for (;;) {
      braid::sleep(2ms);
      ++ticks;
    }
  });
  auto worker = braid::spawn([] { braid::to_thread([] { std::this_thread::sleep_for(100ms); }); });
  worker.get();
  REQUIRE(ticks >= 10);
  ticker.kill();
}

TEST_CASE("a kill reaches a coroutine in to_thread once the call returns", "[runtime][thread]") {
  std::atomic<bool> finished{false};
  auto t = braid::spawn([&] {
    braid::to_thread([&] {
      std::this_thread::sleep_for(50ms);
      finished = true;
    });
    return 1;
  });
  braid::sleep(5ms);
  t.kill();
  REQUIRE(finished);  // the job ran to the end: the caller's locals stayed valid
  REQUIRE_FALSE(t.successful());
}

TEST_CASE("after fork the child gets a fresh hub", "[runtime][fork]") {
  braid::Event never;
  auto parked = braid::spawn([&] { never.wait(); });  // the parent's, abandoned in the child
  braid::yield_now();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    braid::detail::after_fork_in_child();
    int ok = braid::Hub::current().live_count() == 0 ? 1 : 0;
    auto t = braid::spawn([] {
      braid::sleep(5ms);
      return 40;
    });
    ok &= t.get() == 40 ? 1 : 0;
    ::_exit(ok ? 0 : 3);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  parked.kill();
}
