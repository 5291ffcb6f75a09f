// braid's thread pool (Asio's thread_pool with lazily attached threads): how many
// threads it starts, and what a forked child gets.
#include <braid/runtime/thread.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/fork.hpp>
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("to_thread runs four jobs at once and never starts a fifth thread", "[runtime][thread]") {
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  int met = 0;  // jobs that saw all four running together
  // Each job waits (bounded) until four have started: only four concurrent threads let
  // all four meet. The two extra jobs queue behind them.
  auto job = [&] {
    std::unique_lock lock(m);
    ++started;
    cv.notify_all();
    if (cv.wait_for(lock, 10s, [&] { return started >= 4; })) ++met;
  };
  std::vector<braid::Task<void>> tasks;
  for (int i = 0; i < 6; ++i) tasks.push_back(braid::spawn([&] { braid::to_thread(job); }));
  braid::joinall(tasks);
  for (auto& t : tasks) REQUIRE(t.successful());
  CHECK(met == 6);
  CHECK(braid::detail::thread_pool_size() == 4);
}

TEST_CASE("a forked child starts its own pool on first use", "[runtime][thread][fork]") {
  const auto parent_thread = braid::to_thread([] { return std::this_thread::get_id(); });
  REQUIRE(braid::detail::thread_pool_size() >= 1);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int failed = 0;
    braid::detail::after_fork_in_child();
    if (braid::detail::thread_pool_size() != 0) failed |= 1;  // the parent's is forgotten
    const auto child_thread = braid::to_thread([] { return std::this_thread::get_id(); });
    if (child_thread == std::this_thread::get_id()) failed |= 2;
    if (braid::detail::thread_pool_size() != 1) failed |= 4;  // one job, one thread
    if (braid::to_thread([] { return 41; }) + 1 != 42) failed |= 8;
    ::_exit(failed);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(parent_thread != std::this_thread::get_id());
}
