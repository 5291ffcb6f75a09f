#include <braid/runtime/detail/fd_watcher.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/fork.hpp>
#include <catch2/catch.hpp>

#include "pipe_support.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;
using braid::detail::FdWatcher;
using braid::test::fill;
using braid::test::NonBlockingPipe;

namespace {

// Reads one byte through `w`, parking up to 5 s. No REQUIRE: coroutines call it, and a
// kill must pass through as GreenletExit.
char read_one(FdWatcher& w) {
  char c = 0;
  if (w.read_some(&c, 1, 5s, "test read") != 1) throw std::runtime_error("unexpected EOF");
  return c;
}

// Reads `c` through `w` while a coroutine writes it 2 ms later: the read parks, so it
// goes through the registration (unless the watcher is another thread's).
char delayed_round_trip(const NonBlockingPipe& p, FdWatcher& w, char c) {
  auto writer = braid::spawn([&p, c] {
    braid::sleep(2ms);
    p.put(c);
  });
  const char got = read_one(w);
  writer.join();
  return got;
}

}  // namespace

TEST_CASE("FdWatcher reads what is there at once, and parks only the caller otherwise",
          "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  FdWatcher w(p.r);
  p.put('a');
  CHECK(read_one(w) == 'a');
  int ticks = 0;
  auto ticker = braid::spawn([&] {
    for (;;) {
      braid::sleep(1ms);
      ++ticks;
    }
  });
  auto reader = braid::spawn([&] { return read_one(w); });
  braid::sleep(20ms);
  REQUIRE_FALSE(reader.ready());
  CHECK(ticks > 0);
  p.put('b');
  CHECK(reader.get() == 'b');
  ticker.kill();
}

TEST_CASE("FdWatcher registers once: waits after the first open no descriptor",
          "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  FdWatcher w(p.r);
  (void)braid::Hub::current();  // its own descriptors are not the watcher's
  const std::size_t before = braid::test::open_fd_count();
  auto writer = braid::spawn([&] {
    for (char c = 'a'; c < 'a' + 20; ++c) {
      braid::sleep(1ms);
      p.put(c);
    }
  });
  for (char c = 'a'; c < 'a' + 20; ++c) {
    CHECK(read_one(w) == c);
    CHECK(braid::test::open_fd_count() == before + 1);  // the one registered duplicate
  }
  writer.join();
  CHECK(w.registered());
  w.release();
  CHECK_FALSE(w.registered());
  CHECK(braid::test::open_fd_count() == before);
}

TEST_CASE("FdWatcher reports EOF as 0", "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  FdWatcher w(p.r);
  char c = 0;
  auto reader = braid::spawn([&] { return w.read_some(&c, 1, 5s, "test read"); });
  braid::yield_now();
  ::close(p.w);
  p.w = -1;
  CHECK(reader.get() == 0);
  CHECK(w.read_some(&c, 1, 5s, "test read") == 0);  // and again, at once
}

TEST_CASE("FdWatcher waits time out, and the watcher stays usable", "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  FdWatcher w(p.r);
  char c = 0;
  SECTION("read_some") {
    REQUIRE_THROWS_AS(w.read_some(&c, 1, 10ms, "test read"), braid::TimeoutError);
  }
  SECTION("wait_readable") {
    try {
      w.wait_readable(10ms, "test wait");
      FAIL("no timeout");
    } catch (const braid::TimeoutError& e) {
      CHECK(e.source() == nullptr);
      CHECK_THAT(e.what(), Catch::Contains("test wait fd " + std::to_string(p.r)) &&
                               Catch::Contains("timed out"));
    }
  }
  SECTION("wait_writable") {
    fill(p.w);
    FdWatcher ww(p.w);
    REQUIRE_THROWS_AS(ww.wait_writable(10ms, "test write"), braid::TimeoutError);
    char drain[1 << 16];
    REQUIRE(::read(p.r, drain, sizeof drain) > 0);  // room again (a pipe counts pages)
    ww.wait_writable(5s, "test write");
  }
  p.put('z');
  CHECK(read_one(w) == 'z');
}

TEST_CASE("FdWatcher waits end with a kill or an enclosing Timeout", "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  FdWatcher w(p.r);
  auto reader = braid::spawn([&] { return read_one(w); });
  braid::yield_now();
  reader.kill();
  CHECK_FALSE(reader.successful());
  braid::Timeout t(10ms);
  char c = 0;
  try {
    (void)w.read_some(&c, 1, std::nullopt, "test read");
    FAIL("no timeout");
  } catch (const braid::TimeoutError& e) {
    CHECK(e.fired_by(t));
  }
  t.cancel();
  p.put('k');
  CHECK(read_one(w) == 'k');
}

TEST_CASE("FdWatcher::release wakes a parked reader or writer with EBADF",
          "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  SECTION("reader") {
    FdWatcher w(p.r);
    auto reader = braid::spawn([&] { return read_one(w); });
    braid::yield_now();
    w.release();
    try {
      (void)reader.get();
      FAIL("the reader was not woken");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EBADF);
      CHECK_THAT(e.what(), Catch::Contains("closed while waiting"));
    }
  }
  SECTION("waiter") {
    FdWatcher w(p.r);
    auto waiter = braid::spawn([&] { w.wait_readable(5s, "test wait"); });
    braid::yield_now();
    w.release();
    REQUIRE_THROWS_AS(waiter.get(), std::system_error);
  }
  SECTION("writer") {
    fill(p.w);
    FdWatcher w(p.w);
    auto writer = braid::spawn([&] { w.wait_writable(5s, "test write"); });
    braid::yield_now();
    w.release();
    try {
      writer.get();
      FAIL("the writer was not woken");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EBADF);
    }
  }
}

TEST_CASE("a hub's destruction releases the watchers registered with it", "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  FdWatcher w(p.r);
  CHECK(delayed_round_trip(p, w, 'b') == 'b');
  REQUIRE(w.registered());
  braid::Hub::uninstall();
  CHECK_FALSE(w.registered());
  CHECK(delayed_round_trip(p, w, 'c') == 'c');  // on the thread's next hub
  CHECK(w.registered());
}

TEST_CASE("FdWatcher used from another thread's hub waits without its registration",
          "[runtime][fd_watcher]") {
  NonBlockingPipe p;
  FdWatcher w(p.r);
  CHECK(delayed_round_trip(p, w, 'b') == 'b');
  REQUIRE(w.registered());
  FdWatcher ww(p.w);
  ww.wait_writable(5s, "main thread");
  REQUIRE(ww.registered());
  char got = 0;
  std::thread other([&] {
    ww.wait_writable(5s, "other thread");
    p.put('c');
    w.wait_readable(5s, "other thread");
    got = read_one(w);
  });
  other.join();
  CHECK(got == 'c');
  CHECK(w.registered());  // still the main hub's
}

TEST_CASE("a forked child leaves the parent's registrations alone", "[runtime][fd_watcher][fork]") {
  NonBlockingPipe p1, p2;
  FdWatcher w1(p1.r), w2(p2.r);
  for (auto [p, w] : {std::pair{&p1, &w1}, std::pair{&p2, &w2}}) {
    REQUIRE(delayed_round_trip(*p, *w, 'a') == 'a');
    REQUIRE(w->registered());
  }
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    braid::detail::after_fork_in_child();
    int failed = w1.registered() || w2.registered() ? 1 : 0;
    w1.release();  // the parent's registration: dropped without touching its epoll set
    char c = 'c';
    if (::write(p2.w, &c, 1) != 1) failed |= 2;
    try {
      w2.wait_readable(5s, "child");  // registers anew, with the child's hub
      if (w2.read_some(&c, 1, 5s, "child") != 1 || c != 'c') failed |= 4;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      failed |= 8;
    }
    if (!w2.registered()) failed |= 16;
    w2.release();
    ::_exit(failed);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // Had the child removed them from the shared epoll set, these would time out.
  for (auto [p, w] : {std::pair{&p1, &w1}, std::pair{&p2, &w2}}) {
    CHECK(delayed_round_trip(*p, *w, 'd') == 'd');
  }
}

TEST_CASE("FdWatcher errors name the descriptor and the call", "[runtime][fd_watcher]") {
  SECTION("the descriptor cannot be duplicated") {
    (void)braid::Hub::current().context();  // its descriptors must not take the closed numbers
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    ::close(fds[0]);
    ::close(fds[1]);
    FdWatcher w(fds[0]);  // closed: registering it fails
    try {
      w.wait_readable(1s, "test wait");
      FAIL("registered a closed descriptor");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EBADF);
      CHECK_THAT(e.what(), Catch::Contains("test wait fd " + std::to_string(fds[0])));
    }
    CHECK_FALSE(w.registered());
  }
// (BRAID_ASIO_PLAIN: no native_handle() to hand the reactor; see asio_private.hpp.)
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && \
    !defined(BOOST_ASIO_DISABLE_EPOLL) && !defined(BRAID_ASIO_PLAIN)
  SECTION("the reactor refuses the descriptor") {
    FdWatcher w(braid::Hub::current().native_handle());  // epoll cannot watch itself
    try {
      w.wait_readable(1s, "test wait");
      FAIL("registered the reactor with itself");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EINVAL);
      CHECK_THAT(e.what(), Catch::Contains("registering with the reactor"));
    }
  }
  SECTION("the reactor cannot wait on a regular file") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    FdWatcher w(::fileno(f));
    try {
      w.wait_readable(1s, "test wait");
      FAIL("waited on a regular file");
    } catch (const braid::TimeoutError&) {
      FAIL("timed out instead of failing");
    } catch (const std::system_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("test wait fd " + std::to_string(::fileno(f))));
    }
    w.release();
    std::fclose(f);
  }
#endif
  SECTION("a failed read") {
    FdWatcher w(-1);
    char c = 0;
    try {
      (void)w.read_some(&c, 1, 1s, "test read");
      FAIL("read from fd -1");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EBADF);
      CHECK_THAT(e.what(), Catch::Contains("test read fd -1"));
    }
  }
}
