// Connection::send_bytes(buf, offset, size), recv_bytes_into and descriptor passing
// (send_handle / recv_handle), as multiprocessing's Connection and reduction module.
#include <braid/process/connection.hpp>

#include <braid/coro.hpp>
#include <braid/process/process.hpp>
#include <braid/process/synchronize.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Device and inode: two descriptors of the same open file agree on them.
std::pair<dev_t, ino_t> identity(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return {st.st_dev, st.st_ino};
}

struct OsPipe {
  int r = -1;
  int w = -1;
  OsPipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~OsPipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

}  // namespace

TEST_CASE("send_bytes with offset and size sends that slice", "[process][unit][connection]") {
  auto [a, b] = mp::Pipe();
  const auto buf = bytes_of("hello world");
  a.send_bytes(buf, 6);
  CHECK(text_of(b.recv_bytes()) == "world");
  a.send_bytes(buf, 0, 5);
  CHECK(text_of(b.recv_bytes()) == "hello");
  a.send_bytes(buf, 11);  // offset == length: an empty message
  CHECK(b.recv_bytes().empty());
  a.send_bytes(buf, 3, 0);
  CHECK(b.recv_bytes().empty());
}

TEST_CASE("send_bytes rejects a bad offset or size before sending", "[process][unit][connection]") {
  auto [a, b] = mp::Pipe();
  const auto buf = bytes_of("0123456789");
  REQUIRE_THROWS_WITH(a.send_bytes(buf, 11), Catch::Contains("buffer length < offset"));
  REQUIRE_THROWS_AS(a.send_bytes(buf, 11), std::out_of_range);
  REQUIRE_THROWS_WITH(a.send_bytes(buf, 4, 7), Catch::Contains("buffer length < offset + size"));
  REQUIRE_THROWS_AS(a.send_bytes(buf, 0, 11), std::out_of_range);
  CHECK_FALSE(b.poll());  // nothing was sent
}

TEST_CASE("recv_bytes_into writes at the offset and returns the count",
          "[process][unit][connection]") {
  auto [a, b] = mp::Pipe();
  std::vector<std::byte> buf(16, std::byte{'.'});
  a.send_bytes(bytes_of("abcdef"));
  REQUIRE(b.recv_bytes_into(buf, 4) == 6);
  CHECK(text_of(buf) == "....abcdef......");
  a.send_bytes(bytes_of("0123456789abcdef"));  // exactly fills it
  REQUIRE(b.recv_bytes_into(buf) == 16);
  CHECK(text_of(buf) == "0123456789abcdef");
  a.send_bytes({});
  CHECK(b.recv_bytes_into(buf, 16) == 0);  // an empty message fits at the end
}

TEST_CASE("recv_bytes_into: too short a buffer is BufferTooShort carrying the message",
          "[process][unit][connection]") {
  auto [a, b] = mp::Pipe();
  std::vector<std::byte> buf(8, std::byte{'.'});
  a.send_bytes(bytes_of("a message too long"));
  a.send_bytes(bytes_of("next"));
  try {
    b.recv_bytes_into(buf, 2);
    FAIL("no BufferTooShort");
  } catch (const mp::BufferTooShort& e) {
    CHECK(text_of(e.message()) == "a message too long");
    CHECK_THAT(e.what(), Catch::Contains("18 bytes") && Catch::Contains("6 bytes after offset 2"));
  }
  CHECK(text_of(buf) == "........");         // untouched
  CHECK(text_of(b.recv_bytes()) == "next");  // the long one was consumed, the stream in step
}

TEST_CASE("recv_bytes_into: an offset past the end receives nothing",
          "[process][unit][connection]") {
  auto [a, b] = mp::Pipe();
  std::vector<std::byte> buf(4);
  a.send_bytes(bytes_of("kept"));
  REQUIRE_THROWS_WITH(b.recv_bytes_into(buf, 5), Catch::Contains("offset too large"));
  REQUIRE_THROWS_AS(b.recv_bytes_into(buf, 5), std::out_of_range);
  CHECK(text_of(b.recv_bytes()) == "kept");
}

TEST_CASE("send_handle / recv_handle pass a descriptor in order with the other messages",
          "[process][unit][connection]") {
  const std::size_t fds = braid::test::open_fd_count();
  {
    auto [a, b] = mp::Pipe();
    OsPipe p;
    a.send(42);
    a.send_handle(p.w);
    a.send_bytes(bytes_of("after"));
    CHECK(b.recv<int>() == 42);
    SECTION("recv_handle gives a new descriptor of the same pipe") {
      const int got = b.recv_handle();
      REQUIRE(got >= 0);
      CHECK(got != p.w);
      CHECK(identity(got) == identity(p.w));
      CHECK((::fcntl(got, F_GETFD) & FD_CLOEXEC) != 0);
      REQUIRE(::write(got, "x", 1) == 1);  // writes into the original pipe
      char c = 0;
      REQUIRE(::read(p.r, &c, 1) == 1);
      CHECK(c == 'x');
      ::close(got);
      CHECK(text_of(b.recv_bytes()) == "after");
    }
    SECTION("recv/recv_bytes meeting a descriptor refuse it and leave it") {
      REQUIRE_THROWS_WITH(b.recv_bytes(), Catch::Contains("recv_handle"));
      REQUIRE_THROWS_AS(b.recv<int>(), std::logic_error);
      const int got = b.recv_handle();
      CHECK(identity(got) == identity(p.w));
      ::close(got);
      // and recv_handle meeting plain bytes refuses them likewise
      REQUIRE_THROWS_WITH(b.recv_handle(), Catch::Contains("not a descriptor"));
      CHECK(text_of(b.recv_bytes()) == "after");
    }
    SECTION("a descriptor nobody took is closed with the connection") {
      REQUIRE(b.poll());  // the handle's frame (read ahead with 42's) waits; never taken
    }
  }
  CHECK(braid::test::open_fd_count() == fds);
}

TEST_CASE("descriptors received but not taken are closed by close()",
          "[process][unit][connection]") {
  const std::size_t fds = braid::test::open_fd_count();
  {
    auto [a, b] = mp::Pipe();
    OsPipe p;
    for (int i = 0; i < 3; ++i) a.send_handle(p.w);
    a.send(7);
    REQUIRE(b.poll(kGenerous));
    // The first recv_handle reads ahead: the other two descriptors arrive with it.
    const int first = b.recv_handle();
    ::close(first);
    b.close();
  }
  CHECK(braid::test::open_fd_count() == fds);
}

TEST_CASE("many descriptors between many frames each reach their own recv_handle",
          "[process][unit][connection]") {
  auto [a, b] = mp::Pipe();
  std::vector<OsPipe> pipes(12);
  for (std::size_t i = 0; i < pipes.size(); ++i) {
    a.send(static_cast<int>(i));
    a.send_handle(i % 2 == 0 ? pipes[i].r : pipes[i].w);
    a.send_bytes(std::vector<std::byte>(1000 * i, std::byte{1}));
  }
  for (std::size_t i = 0; i < pipes.size(); ++i) {
    REQUIRE(b.recv<int>() == static_cast<int>(i));
    const int got = b.recv_handle();
    CHECK(identity(got) == identity(i % 2 == 0 ? pipes[i].r : pipes[i].w));
    ::close(got);
    CHECK(b.recv_bytes().size() == 1000 * i);
  }
}

TEST_CASE("send_handle to a child and back", "[process][unit][connection][fork]") {
  auto [parent_end, child_end] = mp::Pipe();
  OsPipe p;
  mp::Process child(
      [](mp::Connection& c) {
        // Receives the write end of a pipe, writes through it, and sends it back.
        const int fd = c.recv_handle();
        if (::write(fd, "from child", 10) != 10) ::_exit(3);
        c.send_handle(fd);
        ::close(fd);
        c.send(std::string("done"));
      },
      std::ref(child_end));
  child.start();
  child_end.close();
  parent_end.send_handle(p.w);
  const int back = parent_end.recv_handle();
  CHECK(identity(back) == identity(p.w));
  ::close(back);
  CHECK(parent_end.recv<std::string>() == "done");
  char buf[16] = {};
  REQUIRE(::read(p.r, buf, sizeof buf) == 10);
  CHECK(std::string(buf, 10) == "from child");
  REQUIRE(child.join(kGenerous));
  CHECK(child.exitcode() == 0);
}

TEST_CASE("descriptor passing needs a socket: Pipe(false) ends refuse it",
          "[process][unit][connection]") {
  auto [r, w] = mp::Pipe(false);
  OsPipe p;
  REQUIRE_THROWS_WITH(w.send_handle(p.w), Catch::Contains("Unix socket"));
  REQUIRE_THROWS_AS(r.recv_handle(), std::logic_error);
  w.send(1);
  CHECK(r.recv<int>() == 1);  // the pipe still works
}

TEST_CASE("send_handle of a descriptor that is not open is EBADF", "[process][unit][connection]") {
  auto [a, b] = mp::Pipe();
  OsPipe p;
  const int stale = p.w;
  ::close(p.w);
  p.w = -1;
  try {
    a.send_handle(stale);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBADF);
    CHECK_THAT(e.what(), Catch::Contains("not an open descriptor"));
  }
  CHECK_FALSE(b.poll());
}

TEST_CASE("a descriptor the receiver has no room for is EMFILE",
          "[process][unit][connection][fork]") {
  auto [parent_end, child_end] = mp::Pipe();
  mp::Event limited;
  OsPipe p;
  mp::Process child(
      [](mp::Connection& c, mp::Event limited) {
        // A first wait registers the connection with the hub (which needs descriptors);
        // then the table is made full: the lowest free number becomes the limit.
        (void)c.poll(1ms);
        // UBSan checks a caught system_error's type through a pipe of its own on first
        // sight; with the table full that fails. A first check now fills its cache.
        try {
          throw std::system_error(EMFILE, std::generic_category());
        } catch (const std::system_error& e) {
          if (e.code().value() != EMFILE) ::_exit(7);
        }
        const int lowest_free = ::dup(0);
        ::close(lowest_free);
        const rlimit rl{static_cast<rlim_t>(lowest_free), static_cast<rlim_t>(lowest_free)};
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::_exit(3);
        limited.set();
        try {
          (void)c.recv_handle();
        } catch (const std::system_error& e) {
          ::_exit(e.code().value() == EMFILE ? 0 : 4);
        } catch (...) {
          ::_exit(6);
        }
        ::_exit(5);
      },
      std::ref(child_end), limited);
  child.start();
  child_end.close();
  REQUIRE(limited.wait(kGenerous));
  parent_end.send_handle(p.w);
  REQUIRE(child.join(kGenerous));
  CHECK(child.exitcode() == 0);
}
