// Hooked calls that keep succeeding without parking still let the loop run (they count
// towards Hub::cooperate's budget and yield now and then).
#include <catch2/catch.hpp>

#include "hooks_test_support.hpp"

#include <sys/socket.h>
#include <unistd.h>

using namespace braid::test;

TEST_CASE("a coroutine reading a socket that always has data lets a ticker tick") {
  int fd[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0);
  const std::string chunk(64 * 1024, 'd');
  REQUIRE(::send(fd[1], chunk.data(), chunk.size(), 0) == static_cast<ssize_t>(chunk.size()));
  Ticker ticker(1ms);
  auto busy = braid::spawn([&] {
    // One byte at a time from a full buffer, and writes that always fit: no call parks.
    const auto until = std::chrono::steady_clock::now() + 300ms;
    long calls = 0;
    char c;
    while (std::chrono::steady_clock::now() < until) {
      if (::recv(fd[0], &c, 1, 0) != 1) return -1L;
      if (::write(fd[0], &c, 1) != 1) return -2L;
      char back;
      if (::read(fd[1], &back, 1) != 1) return -3L;
      // Top fd[0]'s buffer up in one send now and then, so it never runs dry however
      // fast the loop (an optimised build reads 64 KiB a byte at a time within 300 ms).
      // One big send, not a byte per round: each tiny send is a buffer of its own in the
      // kernel, and a few hundred of them fill the sender's quota.
      if (++calls % 4096 == 0 && ::send(fd[1], chunk.data(), 4096, 0) != 4096) {
        return -5L;
      }
      pollfd p{fd[0], POLLIN, 0};
      if (::poll(&p, 1, 1000) != 1) return -4L;
    }
    return calls;
  });
  CHECK(busy.get() > 100);
  CHECK(ticker.ticks() >= 20);  // 300 ms of 1 ms ticks, with lots of room
  ::close(fd[0]);
  ::close(fd[1]);
}

// Asio makes these calls on its own non-blocking descriptors while starting an operation,
// some under its locks (the select reactor writes its eventfd holding its mutex): a hooked
// call on a non-blocking descriptor must be libc's exactly, never a yield. (Before, the
// 33rd such call yielded, and under the select reactor another coroutine then deadlocked
// on the reactor's mutex.)
TEST_CASE("hooked calls on non-blocking descriptors never yield") {
  int fd[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) == 0);
  bool other_ran = false;
  long calls = 0;
  auto caller = braid::spawn([&] {
    char c = 'x';
    for (int i = 0; i < 200; ++i) {
      if (other_ran) return;
      if (::send(fd[0], &c, 1, 0) != 1) return;
      if (::recv(fd[1], &c, 1, 0) != 1) return;
      if (::write(fd[0], &c, 1) != 1) return;
      if (::read(fd[1], &c, 1) != 1) return;
      ++calls;
    }
  });
  auto other = braid::spawn([&] { other_ran = true; });  // queued behind the caller
  caller.join();
  CHECK(calls == 200);  // 800 hooked calls, and the other coroutine never ran in between
  other.join();
  CHECK(other_ran);
  ::close(fd[0]);
  ::close(fd[1]);
}
