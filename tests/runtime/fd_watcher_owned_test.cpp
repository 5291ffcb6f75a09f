// FdWatcher owning its descriptor or borrowing the caller's, and the waits that treat a
// timeout as a result (wait_readable_within).
#include <braid/runtime/detail/fd_watcher.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

using namespace std::chrono_literals;
using braid::detail::FdWatcher;
using braid::detail::UniqueFd;

namespace {

std::pair<int, int> nonblocking_pipe() {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  return {fds[0], fds[1]};
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

// Reads one byte through `w` while a coroutine writes it: the read parks, so it goes
// through the watcher's registration.
char round_trip(FdWatcher& w, int write_end, char c) {
  auto writer = braid::spawn([write_end, c] { (void)::write(write_end, &c, 1); });
  char got = 0;
  REQUIRE(w.read_some(&got, 1, 5s, "test read") == 1);
  writer.join();
  return got;
}

}  // namespace

TEST_CASE("an owned FdWatcher closes its descriptor; a borrowed one leaves it open",
          "[runtime][fd_watcher]") {
  (void)braid::Hub::current().context();  // its own descriptors are not the watcher's
  const std::size_t before = braid::test::open_fd_count();
  auto [r, w] = nonblocking_pipe();
  SECTION("owned") {
    {
      FdWatcher watcher{UniqueFd(r)};
      CHECK(watcher.owns());
      CHECK(watcher.fd() == r);
      CHECK(round_trip(watcher, w, 'o') == 'o');
      CHECK(watcher.registered());
    }
    CHECK_FALSE(is_open(r));
    ::close(w);
  }
  SECTION("borrowed") {
    {
      FdWatcher watcher(r);
      CHECK_FALSE(watcher.owns());
      CHECK(round_trip(watcher, w, 'b') == 'b');
    }
    CHECK(is_open(r));
    ::close(r);
    ::close(w);
  }
  CHECK(braid::test::open_fd_count() == before);  // the registered duplicate is gone too
}

TEST_CASE("FdWatcher::close closes an owned descriptor at once, a borrowed one never",
          "[runtime][fd_watcher]") {
  auto [r, w] = nonblocking_pipe();
  SECTION("owned") {
    FdWatcher watcher{UniqueFd(r)};
    CHECK(round_trip(watcher, w, 'c') == 'c');
    auto waiter = braid::spawn([&] { watcher.wait_readable(5s, "test wait"); });
    braid::yield_now();  // parked
    watcher.close();
    CHECK(watcher.fd() == -1);
    CHECK_FALSE(watcher.registered());
    CHECK_FALSE(is_open(r));
    try {
      waiter.get();
      FAIL("the waiter was not woken");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EBADF);
      // Named as it was when the wait began.
      CHECK_THAT(e.what(), Catch::Contains("test wait fd " + std::to_string(r)));
    }
  }
  SECTION("borrowed") {
    FdWatcher watcher(r);
    CHECK(round_trip(watcher, w, 'c') == 'c');
    watcher.close();
    CHECK(watcher.fd() == r);
    CHECK_FALSE(watcher.registered());
    CHECK(is_open(r));
    CHECK(round_trip(watcher, w, 'd') == 'd');  // registers again
    ::close(r);
  }
  ::close(w);
}

TEST_CASE("FdWatcher::wait_readable_within returns false on its timeout, throws on a Timeout's",
          "[runtime][fd_watcher]") {
  auto [r, w] = nonblocking_pipe();
  FdWatcher watcher{UniqueFd(r)};
  bool ready = true;
  const auto took =
      braid::test::time_of([&] { ready = watcher.wait_readable_within(20ms, "test wait"); });
  CHECK_FALSE(ready);
  CHECK(took >= 20ms);
  {
    braid::Timeout t(10ms);
    try {
      (void)watcher.wait_readable_within(5s, "test wait");
      FAIL("no timeout");
    } catch (const braid::TimeoutError& e) {
      CHECK(e.fired_by(t));
    }
  }
  auto writer = braid::spawn([w = w] { (void)::write(w, "x", 1); });
  CHECK(watcher.wait_readable_within(5s, "test wait"));
  writer.join();
  ::close(w);
}
