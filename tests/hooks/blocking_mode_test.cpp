// The application's blocking mode decides: O_NONBLOCK descriptors get libc's answers,
// the hooks never change a descriptor's flags, and outside coroutines nothing changes.
#include <catch2/catch.hpp>

#include "blocking_client.h"
#include "hooks_test_support.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using namespace braid::test;
using Pair = braid::test::SocketPair;

namespace {

bool nonblocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

}  // namespace

TEST_CASE("an application-set O_NONBLOCK socket returns EAGAIN at once") {
  Pair p;
  REQUIRE(::fcntl(p.fd[0], F_SETFL, ::fcntl(p.fd[0], F_GETFL) | O_NONBLOCK) == 0);
  auto t = braid::spawn([&] {
    char c;
    const auto d = time_of([&] { CHECK(::recv(p.fd[0], &c, 1, 0) == -1); });
    const int err = errno;
    CHECK(::read(p.fd[0], &c, 1) == -1);
    return std::pair<int, bool>{err, d < 50ms};
  });
  CHECK(t.get() == std::pair<int, bool>{EAGAIN, true});
}

TEST_CASE("FIONBIO and SOCK_NONBLOCK count as the application's choice too") {
  int fd[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0);
  int on = 1;
  REQUIRE(::ioctl(fd[1], FIONBIO, &on) == 0);
  auto t = braid::spawn([&] {
    char c;
    const long a = bc_recv_once(fd[0], &c, 1);
    const long b = bc_recv_once(fd[1], &c, 1);
    return std::pair<long, long>{a, b};
  });
  CHECK(t.get() == std::pair<long, long>{-EAGAIN, -EAGAIN});
  ::close(fd[0]);
  ::close(fd[1]);
}

TEST_CASE("F_GETFL reports the application's view across hooked calls") {
  DelayedEchoServer server(10ms);
  auto t = braid::spawn([&] {
    const int fd = bc_connect(server.port());  // a hooked, parking connect
    REQUIRE(fd >= 0);
    const bool after_connect = nonblocking(fd);
    REQUIRE(bc_send_all(fd, "abc", 3) == 0);
    char buf[3];
    REQUIRE(bc_recv_all(fd, buf, 3) == 0);  // parks for the reply
    const bool after_recv = nonblocking(fd);
    ::close(fd);
    return std::pair<bool, bool>{after_connect, after_recv};
  });
  CHECK(t.get() == std::pair<bool, bool>{false, false});
}

TEST_CASE("a dup shares the open file's blocking mode, as the kernel says") {
  Pair p;
  const int copy = ::dup(p.fd[0]);
  REQUIRE(copy >= 0);
  REQUIRE(::fcntl(copy, F_SETFL, ::fcntl(copy, F_GETFL) | O_NONBLOCK) == 0);
  auto t = braid::spawn([&] {
    char c;
    return bc_recv_once(p.fd[0], &c, 1);  // the original is non-blocking now too
  });
  CHECK(t.get() == -EAGAIN);
  REQUIRE(::fcntl(copy, F_SETFL, ::fcntl(copy, F_GETFL) & ~O_NONBLOCK) == 0);
  auto writer = braid::spawn([&] {
    braid::sleep(50ms);
    return ::write(p.fd[1], "y", 1);
  });
  auto reader = braid::spawn([&] {
    char c = 0;
    return bc_recv_once(copy, &c, 1) == 1 ? c : '?';  // blocking again: parks
  });
  CHECK(reader.get() == 'y');
  CHECK(writer.get() == 1);
  ::close(copy);
}

TEST_CASE("a descriptor number closed and reused is judged by what it is now") {
  int fd;
  {
    Pair p;
    fd = p.fd[0];
    REQUIRE(::fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
  }  // both closed
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);  // the lowest free numbers: very likely `fd` again
  auto writer = braid::spawn([&] {
    braid::sleep(50ms);
    return ::write(pipefd[1], "z", 1);
  });
  auto reader = braid::spawn([&] {
    char c = 0;
    return ::read(pipefd[0], &c, 1) == 1 ? c : '?';  // a blocking pipe: parks
  });
  CHECK(reader.get() == 'z');
  CHECK(writer.get() == 1);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
}

TEST_CASE("dup2 over a descriptor takes the new file's mode") {
  Pair blocking, nb;
  REQUIRE(::fcntl(nb.fd[0], F_SETFL, O_NONBLOCK) == 0);
  const int target = ::dup(blocking.fd[0]);
  REQUIRE(::dup2(nb.fd[0], target) == target);
  auto t = braid::spawn([&] {
    char c;
    return bc_recv_once(target, &c, 1);
  });
  CHECK(t.get() == -EAGAIN);
  ::close(target);
}

TEST_CASE("outside a coroutine a blocking pipe read blocks its thread as libc's") {
  int fd[2];
  REQUIRE(::pipe(fd) == 0);
  char got = 0;
  ssize_t n = -1;
  std::thread reader([&] { n = ::read(fd[0], &got, 1); });  // no hub on this thread
  std::this_thread::sleep_for(50ms);
  REQUIRE(::write(fd[1], "q", 1) == 1);
  reader.join();
  CHECK(n == 1);
  CHECK(got == 'q');
  // In main (the hub's root context, not a coroutine) too.
  REQUIRE(::write(fd[1], "r", 1) == 1);
  CHECK(::read(fd[0], &got, 1) == 1);
  CHECK(got == 'r');
  ::close(fd[0]);
  ::close(fd[1]);
}

TEST_CASE("a blocking pipe read and write on coroutines park") {
  int fd[2];
  REQUIRE(::pipe(fd) == 0);
  Ticker ticker(5ms);
  auto reader = braid::spawn([&] {
    char buf[4] = {};
    const ssize_t n = ::read(fd[0], buf, 4);
    return std::string(buf, n > 0 ? n : 0);
  });
  auto writer = braid::spawn([&] {
    braid::sleep(100ms);
    return ::write(fd[1], "pipe", 4);
  });
  CHECK(reader.get() == "pipe");
  CHECK(writer.get() == 4);
  CHECK(ticker.ticks() >= 5);
  ::close(fd[0]);
  ::close(fd[1]);
}

TEST_CASE("a read on a closed descriptor fails with EBADF") {
  int fd[2];
  REQUIRE(::pipe(fd) == 0);
  // A high number, so the hub's own descriptors (made on first use) do not take it.
  const int closed = ::fcntl(fd[0], F_DUPFD_CLOEXEC, 600);
  REQUIRE(closed >= 600);
  ::close(closed);
  ::close(fd[0]);
  ::close(fd[1]);
  auto t = braid::spawn([&] {
    char c;
    const ssize_t n = ::read(closed, &c, 1);
    return std::pair<ssize_t, int>{n, errno};
  });
  CHECK(t.get() == std::pair<ssize_t, int>{-1, EBADF});
}
