// A Pool whose hub goes away first (Hub::uninstall here; thread exit or the end of main
// for a static Pool, see exit_static_test.cpp): its workers are killed without parking,
// pending results fail, and the pool object can still be destroyed or asked questions.
#include <braid/process/pool.hpp>

#include <braid/runtime/hub.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
namespace mp = braid::process;

namespace {

// A task that holds its worker for `ms`.
int hold(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
constexpr auto twice = [](int x) { return 2 * x; };

// Waits (up to 10 s) until `pid` has exited; true when it has. A pidfd becomes readable
// at exit; ESRCH means it is already gone (reaped).
bool exited(pid_t pid) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd p{fd, POLLIN, 0};
  int n = 0;
  do {
    n = ::poll(&p, 1, 10'000);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  return n == 1;
}

}  // namespace

TEST_CASE("pool: the hub going away first kills the workers without parking", "[process][pool]") {
  auto pool = std::make_unique<mp::Pool>(2);
  CHECK(pool->apply(twice, 4) == 8);
  auto slow = pool->apply_async(hold, std::make_tuple(30'000));
  auto range =
      pool->imap(hold, std::views::iota(0) | std::views::transform([](int) { return 20'000; }));
  const std::vector<pid_t> pids = pool->pids();
  REQUIRE(pids.size() == 2);

  const auto t0 = std::chrono::steady_clock::now();
  braid::Hub::uninstall();  // unwinds the pool's coroutines
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  for (pid_t pid : pids) CHECK(exited(pid));
  REQUIRE(slow.ready());
  CHECK_THROWS_WITH(slow.get(), Catch::Contains("the hub was shutting down"));
  CHECK(pool->pids().empty());
  // A new hub on this thread is not the pool's: it refuses work, and it is gone anyway.
  CHECK_THROWS_AS(pool->apply(twice, 1), std::logic_error);
  pool->terminate();  // idempotent: nothing left to do, nothing parks
  pool.reset();
  // The stream outlived its pool: it ends, it does not hang.
  CHECK_THROWS([&] {
    for (int v : range) (void)v;
  }());
}
