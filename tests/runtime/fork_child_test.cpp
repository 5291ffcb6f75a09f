#include <braid/runtime/fork.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <optional>

using namespace std::chrono_literals;

TEST_CASE("a forked child's hub builds its io_context only when something waits",
          "[runtime][fork]") {
  auto keep = std::make_optional<braid::Hub::KeepAlive>(braid::Hub::current());
  braid::sleep(1ms);  // the parent's loop has run: its reactor descriptors exist
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int failed = 0;
    const std::size_t inherited = braid::test::open_fd_count();
    braid::detail::after_fork_in_child();
    if (braid::test::open_fd_count() != inherited) failed |= 1;  // nothing built yet
    keep.reset();  // the parent's KeepAlive: no context to release it from, no crash
    if (braid::test::open_fd_count() != inherited) failed |= 2;
    braid::sleep(1ms);  // a timer needs the loop: now it is built
    if (braid::test::open_fd_count() <= inherited) failed |= 4;
    ::_exit(failed);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  keep.reset();
}
