// Signals after fork(): a child's signals are its own. Asio keeps its signal handling in
// process-wide state (one notification pipe, the registrations); the runtime resets it in
// every forked child (braid::detail::after_fork_in_child).
#include <braid/process/process.hpp>

#include <braid/coro.hpp>
#include <braid/process/connection.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <signal.h>
#include <unistd.h>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

// What asio_private.cpp's reactor_forget_signals_after_fork buys; without Asio's private
// members (BRAID_ASIO_PLAIN) a child shares the parent's signal state, as documented there.
#if !defined(BRAID_ASIO_PLAIN)
TEST_CASE("fork: a signal the parent handles has its default action in a child",
          "[process][fork][signal]") {
  int parent_got = 0;
  auto handler = braid::signal_handler(SIGUSR2, [&parent_got] { ++parent_got; });
  auto pipe = mp::Pipe(false);
  auto& rx = pipe.first;
  auto& tx = pipe.second;
  mp::Process child([&tx] {
    tx.send(1);
    braid::sleep(30s);  // SIGUSR2's default action ends this
  });
  child.start();
  REQUIRE(rx.recv<int>() == 1);
  REQUIRE(::kill(child.pid(), SIGUSR2) == 0);
  REQUIRE(child.join(kGenerous));
  CHECK(child.exitcode() == -SIGUSR2);
  CHECK(parent_got == 0);
}

TEST_CASE("fork: a child's own signal handler gets the child's signals, not the parent",
          "[process][fork][signal]") {
  int parent_got = 0;
  auto handler = braid::signal_handler(SIGUSR2, [&parent_got] { ++parent_got; });
  auto pipe = mp::Pipe(false);
  auto& rx = pipe.first;
  auto& tx = pipe.second;
  mp::Process child([&tx] {
    braid::Event got;
    auto mine = braid::signal_handler(SIGUSR2, [&got] { got.set(); });
    tx.send(1);
    ::_exit(got.wait(10s) ? 0 : 7);
  });
  child.start();
  REQUIRE(rx.recv<int>() == 1);
  REQUIRE(::kill(child.pid(), SIGUSR2) == 0);
  REQUIRE(child.join(kGenerous));
  CHECK(child.exitcode() == 0);
  // And the parent's own handler still works.
  REQUIRE(::kill(::getpid(), SIGUSR2) == 0);
  braid::Event seen;
  auto waiter = braid::spawn([&] {
    while (parent_got == 0) braid::sleep(2ms);
    seen.set();
  });
  CHECK(seen.wait(kGenerous));
  CHECK(parent_got == 1);
}
#endif  // !BRAID_ASIO_PLAIN
