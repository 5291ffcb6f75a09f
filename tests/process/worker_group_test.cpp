#include <braid/process/worker_group.hpp>

#include <braid/coro.hpp>
#include <braid/process/connection.hpp>
#include <braid/process/process.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` every 5 ms until it holds or `bound` passes (for states the group reports
// only through its accessors, such as a replacement worker becoming ready).
template <class F>
bool eventually(F done, braid::Duration bound = kGenerous) {
  const auto until = Clock::now() + bound;
  while (!done()) {
    if (Clock::now() > until) return false;
    braid::sleep(5ms);
  }
  return true;
}

bool all_distinct_and_set(const std::vector<pid_t>& pids) {
  const std::set<pid_t> set(pids.begin(), pids.end());
  return set.size() == pids.size() && !set.contains(0);
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

// Worker body: ready at once, exit 0 when asked to stop.
void serve_until_stopped(mp::WorkerContext& ctx) {
  ctx.ready();
  (void)ctx.wait_stop();
}

}  // namespace

TEST_CASE("WorkerGroup: every worker starts, then stops gracefully and is reaped",
          "[process][worker_group][fork]") {
  const std::size_t fds = braid::test::open_fd_count();
  std::vector<mp::WorkerExit> exits;
  mp::WorkerGroupOptions opts;
  opts.workers = 3;
  opts.on_child_exit = [&exits](const mp::WorkerExit& e) { exits.push_back(e); };
  std::vector<pid_t> pids;
  {
    mp::WorkerGroup group(serve_until_stopped, opts);
    CHECK_FALSE(group.running());
    group.start();
    CHECK(group.running());
    CHECK(group.size() == 3);
    pids = group.pids();
    CHECK(all_distinct_and_set(pids));
    const auto t0 = Clock::now();
    group.stop(5s);
    CHECK(Clock::now() - t0 < 4s);  // they stop when asked, not at the grace's end
    CHECK_FALSE(group.running());
    CHECK(group.restarts() == 0);
    CHECK_FALSE(group.failure());
    group.stop();  // a second stop returns at once
  }
  REQUIRE(exits.size() == 3);
  for (const auto& e : exits) {
    CHECK(e.exitcode == 0);
    CHECK(e.expected);
  }
  for (pid_t p : pids) CHECK(process_gone(p));  // reaped: no zombie left
  CHECK(braid::test::open_fd_count() == fds);
}

TEST_CASE("WorkerGroup: a worker killed unasked is replaced in its slot",
          "[process][worker_group][fork]") {
  std::vector<mp::WorkerExit> exits;
  mp::WorkerGroupOptions opts;
  opts.workers = 2;
  opts.restart_backoff = 10ms;
  opts.on_child_exit = [&exits](const mp::WorkerExit& e) { exits.push_back(e); };
  mp::WorkerGroup group(
      [](mp::WorkerContext& ctx) {
        ctx.ready();
        (void)ctx.wait_stop();
      },
      opts);
  group.start();
  const auto before = group.pids();
  REQUIRE(::kill(before[0], SIGKILL) == 0);
  REQUIRE(eventually([&] {
    const auto now = group.pids();
    return now[0] != 0 && now[0] != before[0];
  }));
  const auto after = group.pids();
  CHECK(after[1] == before[1]);  // the other worker was left alone
  CHECK(group.restarts() == 1);
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].index == 0);
  CHECK(exits[0].pid == before[0]);
  CHECK(exits[0].exitcode == -SIGKILL);
  CHECK_FALSE(exits[0].expected);
  group.stop(5s);
  CHECK(process_gone(after[0]));
}

TEST_CASE("WorkerGroup: the replacement knows its index and generation",
          "[process][worker_group][fork]") {
  auto pipe = braid::process::Pipe(false);
  auto& rx = pipe.first;
  auto& tx = pipe.second;
  mp::WorkerGroupOptions opts;
  opts.workers = 1;
  opts.restart_backoff = 1ms;
  mp::WorkerGroup group(
      [&tx](mp::WorkerContext& ctx) {
        tx.send(std::to_string(ctx.index()) + "/" + std::to_string(ctx.generation()));
        ctx.ready();
        (void)ctx.wait_stop();
      },
      opts);
  group.start();
  CHECK(rx.recv<std::string>() == "0/0");
  REQUIRE(::kill(group.pids()[0], SIGKILL) == 0);
  CHECK(rx.recv<std::string>() == "0/1");
  group.stop(5s);
}

TEST_CASE("WorkerGroup: a crash loop stops the group at the restart cap with a clear error",
          "[process][worker_group][fork]") {
  mp::WorkerGroupOptions opts;
  opts.workers = 1;
  opts.restart_backoff = 1ms;
  opts.max_restart_backoff = 5ms;
  opts.max_restarts_per_minute = 3;
  mp::WorkerGroup group(
      [](mp::WorkerContext& ctx) {
        braid::test::default_signals();
        if (ctx.generation() == 0) {
          ctx.ready();
          braid::sleep(300ms);  // long enough for start() to have returned
        }
        throw std::runtime_error("handler crashed");  // every later worker dies at once
      },
      opts);
  group.start();
  const auto t0 = Clock::now();
  CHECK(group.run() == 1);
  CHECK(Clock::now() - t0 < kGenerous);
  CHECK(group.restarts() == 3);
  REQUIRE(group.failure());
  CHECK_THAT(*group.failure(), Catch::Contains("worker 0") &&
                                   Catch::Contains("max_restarts_per_minute = 3") &&
                                   Catch::Contains("exit status 1"));
  CHECK_FALSE(group.running());
  CHECK(braid::test::no_children_left());
}

TEST_CASE("WorkerGroup: start fails, naming the worker, when one dies before it is ready",
          "[process][worker_group][fork]") {
  const std::size_t fds = braid::test::open_fd_count();
  mp::WorkerGroupOptions opts;
  opts.workers = 2;
  mp::WorkerGroup group(
      [](mp::WorkerContext& ctx) {
        if (ctx.index() == 1) throw std::runtime_error("cannot open per-worker resource");
        ctx.ready();
        (void)ctx.wait_stop();
      },
      opts);
  try {
    group.start();
    FAIL("start() returned");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("worker 1 (pid") && Catch::Contains("exit status 1") &&
                             Catch::Contains("before it was ready"));
  }
  CHECK_FALSE(group.running());
  CHECK(braid::test::no_children_left());
  CHECK(braid::test::open_fd_count() == fds);
}

TEST_CASE("WorkerGroup: a worker that never reports ready is killed at start_timeout",
          "[process][worker_group][fork]") {
  mp::WorkerGroupOptions opts;
  opts.workers = 1;
  opts.start_timeout = 300ms;
  mp::WorkerGroup group([](mp::WorkerContext& ctx) { (void)ctx.wait_stop(); }, opts);
  const auto t0 = Clock::now();
  CHECK_THROWS_WITH(group.start(), Catch::Contains("killed by signal 9 (SIGKILL)") &&
                                       Catch::Contains("before it was ready"));
  CHECK(Clock::now() - t0 < kGenerous);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("WorkerGroup: a worker that ignores the stop request is killed after the grace",
          "[process][worker_group][fork]") {
  std::vector<mp::WorkerExit> exits;
  mp::WorkerGroupOptions opts;
  opts.workers = 1;
  opts.on_child_exit = [&exits](const mp::WorkerExit& e) { exits.push_back(e); };
  mp::WorkerGroup group(
      [](mp::WorkerContext& ctx) {
        ctx.ready();
        braid::sleep(60s);  // ignores wait_stop()
      },
      opts);
  group.start();
  const auto t0 = Clock::now();
  group.stop(300ms);
  const auto took = Clock::now() - t0;
  CHECK(took >= 300ms);
  CHECK(took < 5s);
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].exitcode == -SIGKILL);
  CHECK(exits[0].expected);
}

TEST_CASE("WorkerGroup: the stop request carries the grace; SIGTERM to a worker asks it too",
          "[process][worker_group][fork]") {
  auto pipe = braid::process::Pipe(false);
  auto& rx = pipe.first;
  auto& tx = pipe.second;
  mp::WorkerGroupOptions opts;
  opts.workers = 1;
  opts.stop_grace = 7s;
  opts.restart_backoff = 1ms;
  mp::WorkerGroup group(
      [&tx](mp::WorkerContext& ctx) {
        ctx.ready();
        const auto grace = ctx.wait_stop();
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(grace).count();
        tx.send(ctx.stop_requested() ? static_cast<long>(ms) : -1L);
      },
      opts);
  group.start();
  // SIGTERM sent to the worker itself: it stops with the options' grace and exits 0, and
  // the parent (which did not ask) restarts it.
  REQUIRE(::kill(group.pids()[0], SIGTERM) == 0);
  CHECK(rx.recv<long>() == 7000);
  REQUIRE(eventually([&] { return group.restarts() == 1 && group.pids()[0] != 0; }));
  group.stop(1500ms);
  CHECK(rx.recv<long>() == 1500);
}

TEST_CASE("WorkerGroup: reload replaces every worker, each new one ready before the old stops",
          "[process][worker_group][fork]") {
  std::vector<mp::WorkerExit> exits;
  mp::WorkerGroupOptions opts;
  opts.workers = 2;
  opts.on_child_exit = [&exits](const mp::WorkerExit& e) { exits.push_back(e); };
  mp::WorkerGroup group(serve_until_stopped, opts);
  group.start();
  const auto before = group.pids();
  REQUIRE(group.reload());
  const auto after = group.pids();
  CHECK(all_distinct_and_set(after));
  for (pid_t p : before) CHECK(std::find(after.begin(), after.end(), p) == after.end());
  REQUIRE(exits.size() == 2);
  for (const auto& e : exits) {
    CHECK(e.expected);
    CHECK(e.exitcode == 0);
  }
  CHECK(group.restarts() == 0);
  group.stop(5s);
}

TEST_CASE("WorkerGroup: a reload whose new worker fails keeps the old workers",
          "[process][worker_group][fork]") {
  mp::WorkerGroupOptions opts;
  opts.workers = 2;
  mp::WorkerGroup group(
      [](mp::WorkerContext& ctx) {
        if (ctx.generation() > 0) throw std::runtime_error("new code is broken");
        ctx.ready();
        (void)ctx.wait_stop();
      },
      opts);
  group.start();
  const auto before = group.pids();
  CHECK_FALSE(group.reload());
  CHECK(group.pids() == before);
  CHECK(group.running());
  group.stop(5s);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("WorkerGroup: SIGTERM to the parent stops run() with 0",
          "[process][worker_group][fork]") {
  mp::WorkerGroupOptions opts;
  opts.workers = 2;
  mp::WorkerGroup group(serve_until_stopped, opts);
  group.start();
  const auto pids = group.pids();
  auto sender = braid::spawn([] { ::kill(::getpid(), SIGTERM); });
  CHECK(group.run() == 0);
  sender.join();
  for (pid_t p : pids) CHECK(process_gone(p));
}

TEST_CASE("WorkerGroup: bad options and misuse are rejected", "[process][worker_group]") {
  CHECK_THROWS_AS(mp::WorkerGroup(mp::WorkerGroup::Body{}), std::invalid_argument);
  mp::WorkerGroupOptions opts;
  opts.start_timeout = 0s;
  CHECK_THROWS_WITH(mp::WorkerGroup(serve_until_stopped, opts), Catch::Contains("start_timeout"));
  opts = {};
  opts.restart_backoff = 10s;
  opts.max_restart_backoff = 1s;
  CHECK_THROWS_WITH(mp::WorkerGroup(serve_until_stopped, opts), Catch::Contains("restart_backoff"));
  opts = {};
  opts.workers = 1;
  mp::WorkerGroup group(serve_until_stopped, opts);
  group.start();
  CHECK_THROWS_AS(group.start(), std::logic_error);
  group.stop(5s);
  CHECK_FALSE(group.reload());  // stopped: nothing to replace
  CHECK(mp::WorkerGroup(serve_until_stopped).size() == mp::cpu_count());
}

namespace {
// Gone, or a zombie waiting for a reaper that is not us (its parent died).
bool dead_or_zombie(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return true;
  int ignored_pid = 0;
  char comm[256] = {};
  char state = '?';
  const int n = std::fscanf(f, "%d (%255[^)]) %c", &ignored_pid, comm, &state);
  std::fclose(f);
  return n == 3 && (state == 'Z' || state == 'X');
}
}  // namespace

TEST_CASE("WorkerGroup: a supervisor that crashes takes its workers with it",
          "[process][worker_group][fork]") {
  auto pipe = braid::process::Pipe(false);
  auto& rx = pipe.first;
  auto& tx = pipe.second;
  mp::Process supervisor([&tx] {
    mp::WorkerGroupOptions opts;
    opts.workers = 2;
    mp::WorkerGroup group(serve_until_stopped, opts);
    group.start();
    for (pid_t p : group.pids()) tx.send(static_cast<int>(p));
    braid::sleep(60s);  // killed meanwhile
  });
  supervisor.start();
  const pid_t w0 = rx.recv<int>();
  const pid_t w1 = rx.recv<int>();
  REQUIRE(::kill(supervisor.pid(), SIGKILL) == 0);
  REQUIRE(supervisor.join(kGenerous));
  CHECK(eventually([&] { return dead_or_zombie(w0) && dead_or_zombie(w1); }));
}
