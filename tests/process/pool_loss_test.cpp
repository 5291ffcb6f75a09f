// What a Pool says when a worker dies: the count of lost tasks is right, a result the
// worker computed is delivered or reported as completed (never as not run), the task that
// was running is reported as one that may have run, and tasks it had not started go back
// to the queue and run once.
#include <braid/process/pool.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/wait.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace mp = braid::process;

namespace {

int twice(int x) { return 2 * x; }

// Records that task `id` ran (the test reads the pipe), then returns it.
int mark(int fd, int id) {
  (void)!::write(fd, &id, sizeof id);
  return id;
}

// Reports its pid on `fd`; then mode 0 waits to be killed, 1 calls exit(3), 2 _exit(4).
int report_then(int fd, int mode) {
  const pid_t me = ::getpid();
  (void)!::write(fd, &me, sizeof me);
  if (mode == 1) {
    // A crash in the exit path must show as a signal, not be caught by the test
    // framework's handler inherited by fork.
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS}) ::signal(sig, SIG_DFL);
    std::exit(3);
  }
  if (mode == 2) ::_exit(4);
  for (;;) ::pause();
}

void init_dies() { ::_exit(9); }

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
    ::fcntl(r, F_SETFL, O_NONBLOCK);
  }
  ~Pipe() {
    ::close(r);
    ::close(w);
  }
  // The ints written so far, each once.
  std::vector<int> drain() const {
    std::vector<int> out;
    int v = 0;
    while (::read(r, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) out.push_back(v);
    return out;
  }
};

pid_t read_pid(int fd) {
  braid::wait_readable(fd, 10s);
  pid_t pid = 0;
  REQUIRE(::read(fd, &pid, sizeof pid) == static_cast<ssize_t>(sizeof pid));
  return pid;
}

// The "(N task(s) lost" count of a WorkerLostError message.
int lost_count(const std::string& what) {
  const auto at = what.find(" task(s) lost");
  REQUIRE(at != std::string::npos);
  const auto open = what.rfind('(', at);
  return std::stoi(what.substr(open + 1, at - open - 1));
}

struct Outcome {
  bool ok = false;
  int value = 0;
  mp::LostTaskState state = mp::LostTaskState::unknown;
  std::string what;
};

Outcome outcome(mp::PoolResult<int>& r) {
  Outcome o;
  try {
    o.value = r.get(10s);
    o.ok = true;
  } catch (const mp::WorkerLostError& e) {
    o.state = e.state();
    o.what = e.what();
  }
  return o;
}

// Quick tasks first (their replies may still be batched in the worker when it dies), then
// one that ends its worker the way `mode` says (0: the test SIGKILLs it), then two more
// the worker received but never started.
void lose_a_worker(int mode, const std::string& how) {
  Pipe ran, pids;
  mp::Pool pool(1);
  REQUIRE(pool.map(twice, std::vector<int>(64, 1)).size() == 64);  // tasks now count as quick
  std::vector<mp::PoolResult<int>> quick, after;
  for (int id = 1; id <= 2; ++id)
    quick.push_back(pool.apply_async(mark, std::make_tuple(ran.w, id)));
  auto fatal = pool.apply_async(report_then, std::make_tuple(pids.w, mode));
  for (int id = 3; id <= 4; ++id)
    after.push_back(pool.apply_async(mark, std::make_tuple(ran.w, id)));
  const pid_t victim = read_pid(pids.r);
  if (mode == 0) REQUIRE(::kill(victim, SIGKILL) == 0);

  const Outcome f = outcome(fatal);
  REQUIRE_FALSE(f.ok);
  INFO(f.what);
  CHECK(f.state == mp::LostTaskState::running);
  CHECK_THAT(f.what, Catch::Contains(std::to_string(victim)) && Catch::Contains(how) &&
                         Catch::Contains("this task was running when the worker died: it may "
                                         "have run, in part or fully"));
  int lost = 1;
  std::map<int, Outcome> quick_outcomes;
  for (int id = 1; id <= 2; ++id) {
    const Outcome o = outcome(quick[static_cast<std::size_t>(id - 1)]);
    quick_outcomes[id] = o;
    if (!o.ok) {
      ++lost;
      // Only a reply still batched in the worker can be lost, and only to an uncatchable
      // death: the task ran, and the error says so.
      CHECK(mode != 1);
      CHECK(o.state == mp::LostTaskState::completed);
      CHECK_THAT(o.what, Catch::Contains("had run to completion, but its result died"));
    } else {
      CHECK(o.value == id);
    }
  }
  CHECK(lost_count(f.what) == lost);
  // The tasks it never started run on the next worker, once.
  for (int id = 3; id <= 4; ++id) {
    const Outcome o = outcome(after[static_cast<std::size_t>(id - 3)]);
    CHECK(o.ok);
    CHECK(o.value == id);
  }
  std::map<int, int> runs;
  for (int id : ran.drain()) ++runs[id];
  CHECK(runs == std::map<int, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}});
}

}  // namespace

TEST_CASE("pool loss: a SIGKILLed worker's report counts and classifies what it held",
          "[process][pool][fork]") {
  lose_a_worker(0, "killed by signal 9 (SIGKILL)");
}

TEST_CASE("pool loss: a task calling exit() lets the results before it through",
          "[process][pool][fork]") {
  // exit() runs the forked copy of this thread's thread_local destructors (the hub, the
  // stack pool) on the coroutine stack the worker was forked on: the worker must still
  // end with the task's status, not a SIGSEGV from a stack unmapped under it.
#if defined(BRAID_ASAN)
  // LeakSanitizer's check at exit() reports the parent's state the worker leaves behind
  // on purpose and replaces the status with its own: any status, but no signal.
  lose_a_worker(1, "exited with status");
#else
  lose_a_worker(1, "exited with status 3");
#endif
}

TEST_CASE("pool loss: a task calling _exit() is the one reported as running",
          "[process][pool][fork]") {
  lose_a_worker(2, "exited with status 4");
}

TEST_CASE("pool loss: a worker that dies before starting anything fails its tasks as not run",
          "[process][pool][fork]") {
  mp::PoolOptions o;
  o.initializer = init_dies;
  mp::Pool pool(1, o);
  auto r = pool.apply_async(twice, std::make_tuple(5));
  const Outcome out = outcome(r);
  REQUIRE_FALSE(out.ok);
  INFO(out.what);
  CHECK(out.state == mp::LostTaskState::not_started);
  CHECK_THAT(out.what, Catch::Contains("exited with status 9") &&
                           Catch::Contains("(1 task(s) lost") &&
                           Catch::Contains("retrying it repeats nothing"));
  pool.terminate();
}

TEST_CASE("pool loss: terminate() says which tasks never reached a worker",
          "[process][pool][fork]") {
  Pipe pids;
  mp::Pool pool(1);
  auto held = pool.apply_async(report_then, std::make_tuple(pids.w, 0));
  auto queued = pool.apply_async(twice, std::make_tuple(1));
  (void)read_pid(pids.r);
  pool.terminate();
  try {
    held.get();
    FAIL("no exception");
  } catch (const mp::WorkerLostError& e) {
    CHECK(e.may_have_run());
  }
  try {
    queued.get();
    FAIL("no exception");
  } catch (const mp::WorkerLostError& e) {
    CHECK(e.state() == mp::LostTaskState::not_started);
    CHECK_FALSE(e.may_have_run());
    CHECK_THAT(e.what(), Catch::Equals("Pool: terminated before the task finished"));
  }
}
