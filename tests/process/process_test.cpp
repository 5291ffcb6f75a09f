#include <braid/process/process.hpp>

#include <braid/coro.hpp>
#include <braid/process/connection.hpp>
#include <braid/process/synchronize.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

namespace {

class Recorder : public mp::Process {
 public:
  explicit Recorder(mp::Connection* out) : out_(out) {}
  void run() override { out_->send(name() + " ran in " + std::to_string(::getpid())); }

 private:
  mp::Connection* out_;
};

}  // namespace

TEST_CASE("Process runs its target with arguments in a child and joins", "[process][unit][fork]") {
  const std::size_t fds = braid::test::open_fd_count();
  {
    auto [rx, tx] = mp::Pipe(false);
    mp::Process p(
        [](mp::Connection& out, int a, std::string b) { out.send(b + std::to_string(a)); },
        std::ref(tx), 42, std::string("answer="));
    REQUIRE(p.pid() == 0);
    REQUIRE_FALSE(p.exitcode());
    p.start();
    REQUIRE(p.pid() > 0);
    REQUIRE(p.pid() != ::getpid());
    REQUIRE(rx.recv<std::string>() == "answer=42");
    REQUIRE(p.join(kGenerous));
    REQUIRE(p.exitcode() == 0);
    REQUIRE_FALSE(p.is_alive());
  }
  CHECK(braid::test::open_fd_count() == fds);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("Process subclasses override run()", "[process][unit][fork]") {
  auto [rx, tx] = mp::Pipe(false);
  Recorder r(&tx);
  r.start();
  const std::string got = rx.recv<std::string>();
  REQUIRE(got == r.name() + " ran in " + std::to_string(r.pid()));
  REQUIRE(r.join(kGenerous));
  REQUIRE(r.exitcode() == 0);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("starting a process twice is a logic_error", "[process][unit][fork]") {
  mp::Process p([] {});
  p.start();
  REQUIRE_THROWS_WITH(p.start(), "cannot start a process twice");
  REQUIRE_THROWS_AS(p.set_daemon(true), std::logic_error);
  REQUIRE(p.join(kGenerous));
  REQUIRE_THROWS_AS(p.start(), std::logic_error);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("join before start is a logic_error", "[process][unit]") {
  mp::Process p([] {});
  REQUIRE_THROWS_AS(p.join(), std::logic_error);
  REQUIRE_FALSE(p.is_alive());
}

TEST_CASE("join with a timeout returns false while the child runs", "[process][unit][fork]") {
  mp::Event release;
  mp::Process p([](mp::Event e) { e.wait(); }, release);
  p.start();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(p.join(100ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 100ms);
  REQUIRE(p.is_alive());
  REQUIRE_FALSE(p.exitcode());
  release.set();
  REQUIRE(p.join(kGenerous));
  REQUIRE(p.exitcode() == 0);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("an uncaught exception in the child gives exit code 1", "[process][unit][fork]") {
  mp::Process p([] { throw std::runtime_error("boom in the child"); });
  p.start();
  REQUIRE(p.join(kGenerous));
  REQUIRE(p.exitcode() == 1);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("terminate and kill give negative exit codes", "[process][unit][fork]") {
  mp::Event never;
  mp::Event ready;  // set by the child once its signal handlers are the defaults
  auto sleeper = [](mp::Event ready, mp::Event never) {
    braid::test::default_signals();
    ready.set();
    never.wait();
  };
  SECTION("SIGTERM -> -15") {
    mp::Process p(sleeper, ready, never);
    p.start();
    REQUIRE(ready.wait(kGenerous));
    p.terminate();
    REQUIRE(p.join(kGenerous));
    REQUIRE(p.exitcode() == -SIGTERM);
  }
  SECTION("SIGKILL -> -9") {
    mp::Process p(sleeper, ready, never);
    p.start();
    p.kill();
    REQUIRE(p.join(kGenerous));
    REQUIRE(p.exitcode() == -SIGKILL);
    p.kill();  // already reaped: no effect, no error
  }
  SECTION("a child that crashes") {
    mp::Process p([] {
      braid::test::default_signals();
      std::abort();
    });
    p.start();
    REQUIRE(p.join(kGenerous));
    REQUIRE(p.exitcode() == -SIGABRT);
  }
  CHECK(braid::test::no_children_left());
}

TEST_CASE("names: Process-N by default, given names, current_process", "[process][unit][fork]") {
  REQUIRE(mp::current_process().name() == "MainProcess");
  REQUIRE(mp::current_process().pid() == ::getpid());
  REQUIRE_FALSE(mp::current_process().daemon());
  mp::Process a([] {});
  mp::Process b([] {});
  REQUIRE(a.name().rfind("Process-", 0) == 0);
  REQUIRE(a.name() != b.name());
  mp::ProcessOptions o;
  o.name = "worker";
  auto [rx, tx] = mp::Pipe(false);
  mp::Process named(
      o,
      [](mp::Connection& out) {
        out.send(mp::current_process().name());
        out.send(static_cast<int>(mp::current_process().pid()));
        mp::Process grandchild([] {});
        out.send(grandchild.name());
      },
      std::ref(tx));
  REQUIRE(named.name() == "worker");
  named.start();
  REQUIRE(rx.recv<std::string>() == "worker");
  REQUIRE(rx.recv<int>() == named.pid());
  const std::string grandchild = rx.recv<std::string>();
  CHECK(grandchild.find(':') != std::string::npos);  // "Process-3:1" style
  REQUIRE(named.join(kGenerous));
  named.set_name("renamed");
  REQUIRE(named.name() == "renamed");
}

TEST_CASE("active_children lists running children only", "[process][unit][fork]") {
  mp::Event go;
  mp::Process a([](mp::Event e) { e.wait(); }, go);
  mp::Process b([] {});
  a.start();
  b.start();
  REQUIRE(b.join(kGenerous));
  auto kids = mp::active_children();
  REQUIRE(kids.size() == 1);
  REQUIRE(kids[0] == &a);
  go.set();
  REQUIRE(a.join(kGenerous));
  REQUIRE(mp::active_children().empty());
  CHECK(braid::test::no_children_left());
}

TEST_CASE("daemon flag: default false, inherited, settable before start", "[process][unit][fork]") {
  mp::Process p([] {});
  REQUIRE_FALSE(p.daemon());
  p.set_daemon(true);
  REQUIRE(p.daemon());
  mp::ProcessOptions o;
  o.daemon = true;
  auto [rx, tx] = mp::Pipe(false);
  mp::Process d(
      o,
      [](mp::Connection& out) {
        out.send(mp::current_process().daemon());
        mp::Process inner([] {});
        out.send(inner.daemon());
      },
      std::ref(tx));
  d.start();
  REQUIRE(rx.recv<bool>());
  REQUIRE(rx.recv<bool>());
  REQUIRE(d.join(kGenerous));
}

TEST_CASE("join parks only the calling coroutine", "[process][unit][fork]") {
  mp::Event go;
  mp::Process p([](mp::Event go) { go.wait(); }, go);
  p.start();
  auto waiter = braid::spawn([&] { return p.join(kGenerous); });
  CHECK(braid::test::others_run_while_parked(waiter));
  go.set();
  REQUIRE(waiter.get());
  CHECK(braid::test::no_children_left());
}

TEST_CASE("a destroyed Process leaves no zombie", "[process][unit][fork]") {
  pid_t pid;
  {
    mp::Process p([] { ::usleep(50 * 1000); });
    p.start();
    pid = p.pid();
  }
  // The runtime's reaper collects it; wait for that, bounded.
  const auto until = std::chrono::steady_clock::now() + kGenerous;
  while (!braid::test::no_children_left() && std::chrono::steady_clock::now() < until) {
    braid::sleep(5ms);
  }
  CHECK(braid::test::no_children_left());
  CHECK(::kill(pid, 0) == -1);
}

TEST_CASE("non-daemon children are joined and daemon children terminated at exit",
          "[process][unit][fork]") {
  // A helper process plays "the parent": it starts both kinds and returns from its
  // target; its exit path (the same as the atexit handler's) must wait for the
  // non-daemon child and terminate the daemon one.
  auto [rx, tx] = mp::Pipe(false);
  mp::Process parent(
      [](mp::Connection& out) {
        mp::ProcessOptions d;
        d.daemon = true;
        mp::Event ready;
        mp::Process daemon(
            d,
            [](mp::Event ready) {
              braid::test::default_signals();
              ready.set();
              ::pause();
            },
            ready);
        mp::Process worker([] { ::usleep(200 * 1000); });
        daemon.start();
        worker.start();
        ready.wait();
        out.send(std::pair<int, int>(daemon.pid(), worker.pid()));
      },
      std::ref(tx));
  parent.start();
  const auto [daemon_pid, worker_pid] = rx.recv<std::pair<int, int>>();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(parent.join(kGenerous));
  CHECK(std::chrono::steady_clock::now() - t0 >= 150ms);  // it waited for the worker
  REQUIRE(parent.exitcode() == 0);
  CHECK(::kill(daemon_pid, 0) == -1);
  CHECK(::kill(worker_pid, 0) == -1);
  CHECK(braid::test::no_children_left());
}

TEST_CASE("cpu_count is positive", "[process][unit]") { REQUIRE(mp::cpu_count() >= 1); }
