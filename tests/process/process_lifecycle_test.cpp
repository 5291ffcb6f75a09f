// Process::sentinel(), Process::close() and parent_process() (multiprocessing's
// Process.sentinel, Process.close and parent_process()).
#include <braid/process/process.hpp>

#include <braid/coro.hpp>
#include <braid/net/select.hpp>
#include <braid/process/connection.hpp>
#include <braid/process/detail/process_state.hpp>
#include <braid/process/synchronize.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/wait.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

namespace {

// Sets an Event when the test leaves, even through a failed REQUIRE: a child waiting on
// it would otherwise keep the test binary's exit (which joins children) waiting forever.
struct SetOnExit {
  mp::Event& e;
  ~SetOnExit() { e.set(); }
};

bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

// What a child learnt about its parent_process(), sent back over a Pipe.
struct ParentView {
  bool present = false;
  std::string name;
  int pid = 0;
  bool alive = false;
  bool joined_early = true;  // join(50ms) returned true while the parent ran
  bool sentinel_ready = true;
  bool terminate_refused = false;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(present, name, pid, alive, joined_early, sentinel_ready, terminate_refused);
  }
};

ParentView view_parent() {
  ParentView v;
  mp::Process* parent = mp::parent_process();
  if (parent == nullptr) return v;
  v.present = true;
  v.name = parent->name();
  v.pid = parent->pid();
  v.alive = parent->is_alive();
  v.joined_early = parent->join(50ms);
  v.sentinel_ready = readable_now(parent->sentinel());
  try {
    parent->terminate();
  } catch (const std::logic_error&) {
    v.terminate_refused = true;
  }
  return v;
}

}  // namespace

TEST_CASE("sentinel: readable exactly when the child has ended", "[process][unit][fork]") {
  const std::size_t fds = braid::test::open_fd_count();
  {
    mp::Event release;
    mp::Process p([](mp::Event e) { e.wait(); }, release);
    SetOnExit guard{release};
    REQUIRE_THROWS_WITH(p.sentinel(), Catch::Contains("not started"));
    p.start();
    const int s = p.sentinel();
    REQUIRE(s >= 0);
    CHECK(p.sentinel() == s);  // the same descriptor every time
    CHECK_FALSE(readable_now(s));
    // braid::wait_readable on it parks and times out while the child runs.
    REQUIRE_THROWS_AS(braid::wait_readable(s, 50ms), braid::TimeoutError);
    release.set();
    braid::wait_readable(s, kGenerous);  // returns once the child has exited
    CHECK(readable_now(s));
    REQUIRE(p.join(kGenerous));
    CHECK(readable_now(s));  // still readable after the child was reaped
    CHECK(p.exitcode() == 0);
  }
  CHECK(braid::test::open_fd_count() == fds);  // the destructor closed it
  CHECK(braid::test::no_children_left());
}

TEST_CASE("sentinel: current_process() has none", "[process][unit]") {
  REQUIRE_THROWS_AS(mp::current_process().sentinel(), std::logic_error);
}

TEST_CASE("sentinel: braid::net::select picks the process that ended", "[process][unit][fork]") {
  mp::Event release_a;
  mp::Event release_b;
  auto waiter = [](mp::Event e) { e.wait(); };
  mp::Process a(waiter, release_a);
  mp::Process b(waiter, release_b);
  SetOnExit guard_a{release_a};
  SetOnExit guard_b{release_b};
  a.start();
  b.start();
  const std::vector<int> sentinels{a.sentinel(), b.sentinel()};
  // Zero timeout: nothing has ended yet.
  CHECK(braid::net::select(sentinels, {}, {}, braid::Duration::zero()).readable.empty());
  release_b.set();
  const auto ready = braid::net::select(sentinels, {}, {}, kGenerous).readable;
  REQUIRE(ready == std::vector<int>{b.sentinel()});
  REQUIRE(b.join(kGenerous));
  release_a.set();
  REQUIRE(a.join(kGenerous));
  CHECK(braid::net::select(sentinels, {}, {}, braid::Duration::zero()).readable == sentinels);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("close: refused while running, then releases the process", "[process][unit][fork]") {
  mp::Event release;  // its eventfd lives through the test
  const std::size_t fds = braid::test::open_fd_count();
  mp::Process p([](mp::Event e) { e.wait(); }, release);
  p.start();
  SetOnExit guard{release};
  REQUIRE_THROWS_WITH(p.close(), Catch::Contains("still running"));
  // The failed close changed nothing.
  REQUIRE(p.is_alive());
  const auto children = mp::active_children();
  REQUIRE(std::count(children.begin(), children.end(), &p) == 1);
  release.set();
  REQUIRE(p.join(kGenerous));
  const pid_t pid = p.pid();
  p.close();
  CHECK(braid::test::open_fd_count() == fds);  // the sentinel and the pidfd are gone
  CHECK(mp::active_children().empty());
  p.close();  // idempotent
  SECTION("every other call is a logic_error") {
    for (auto call : std::vector<std::function<void()>>{
             [&] { p.is_alive(); }, [&] { p.join(); }, [&] { (void)p.exitcode(); },
             [&] { p.sentinel(); }, [&] { p.start(); }, [&] { p.terminate(); },
             [&] { p.kill(); }}) {
      REQUIRE_THROWS_WITH(call(), Catch::Contains("is closed"));
    }
  }
  SECTION("name, daemon and pid still answer") {
    CHECK(p.pid() == pid);
    CHECK_FALSE(p.name().empty());
    CHECK_FALSE(p.daemon());
  }
  CHECK(braid::test::no_children_left());
}

TEST_CASE("close: a process that was never started closes, then cannot start", "[process][unit]") {
  mp::Process p([] {});
  p.close();
  REQUIRE_THROWS_WITH(p.start(), Catch::Contains("is closed"));
}

TEST_CASE("close: an exited child that was never joined is reaped by close",
          "[process][unit][fork]") {
  mp::Process p([] {});
  p.start();
  braid::wait_readable(p.sentinel(), kGenerous);  // ended, not reaped yet
  p.close();
  CHECK(braid::test::no_children_left());
}

TEST_CASE("parent_process: nullptr in the main process", "[process][unit]") {
  REQUIRE(mp::parent_process() == nullptr);
}

TEST_CASE("parent_process: a child sees its parent", "[process][unit][fork]") {
  auto [rx, tx] = mp::Pipe(false);
  mp::Process p([](mp::Connection& out) { out.send(view_parent()); }, std::ref(tx));
  p.start();
  const auto v = rx.recv<ParentView>();
  REQUIRE(p.join(kGenerous));
  CHECK(v.present);
  CHECK(v.name == "MainProcess");
  CHECK(v.pid == ::getpid());
  CHECK(v.alive);
  CHECK_FALSE(v.joined_early);
  CHECK_FALSE(v.sentinel_ready);
  CHECK(v.terminate_refused);
  CHECK(p.exitcode() == 0);
}

TEST_CASE("parent_process: a grandchild sees its parent end", "[process][unit][fork]") {
  // The child starts a grandchild and leaves with _exit at once (skipping the join of its
  // children that a normal exit does); the grandchild's parent_process() must report it.
  auto [rx, tx] = mp::Pipe(false);
  mp::Process child(
      [](mp::Connection& out) {
        mp::Process grandchild(
            [](mp::Connection& out, std::string parent_name, pid_t parent_pid) {
              mp::Process* parent = mp::parent_process();
              const bool same =
                  parent != nullptr && parent->name() == parent_name && parent->pid() == parent_pid;
              const bool joined = parent != nullptr && parent->join(kGenerous);
              const bool ended = joined && !parent->is_alive() && readable_now(parent->sentinel());
              out.send(std::vector<bool>{same, joined, ended});
            },
            std::ref(out), mp::current_process().name(), ::getpid());
        grandchild.start();
        ::_exit(0);
      },
      std::ref(tx));
  child.start();
  tx.close();
  REQUIRE(child.join(kGenerous));
  REQUIRE(rx.poll(kGenerous));
  CHECK(rx.recv<std::vector<bool>>() == std::vector<bool>{true, true, true});
  // The grandchild was reparented (not ours to reap); its end closes the pipe.
  REQUIRE_THROWS_AS(rx.recv_bytes(), braid::EOFError);
}

TEST_CASE("parent_process: a child set up by after_fork_in_child sees its parent",
          "[process][unit][fork]") {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    mp::detail::after_fork_in_child("worker", false);
    mp::Process* p = mp::parent_process();
    const bool ok = p != nullptr && p->pid() == parent && p->name() == "MainProcess" &&
                    p->is_alive() && mp::current_process().name() == "worker";
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
