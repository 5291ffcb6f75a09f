// Braid objects that outlive main (function-local statics, global unique_ptrs, never
// closed or stopped) must let the program exit cleanly: status 0, buffered stdout
// flushed, and no child process of theirs left behind. Each case runs one scenario of the
// exit_scenarios program (tests/process/exit_scenarios.cpp).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

extern char** environ;

namespace {

struct Outcome {
  int status = -1;   // waitpid status
  std::string out;   // everything written to stdout
  bool eof = false;  // stdout reached EOF: no process holding it is left
};

// Runs the scenario with stdout on a pipe (so it is fully buffered, as when a program's
// output is redirected) and reads until EOF or `bound`, then reaps it.
Outcome run_scenario(const char* scenario, std::chrono::seconds bound = std::chrono::seconds(30)) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  const char* argv[] = {BRAID_EXIT_SCENARIOS, scenario, nullptr};
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, BRAID_EXIT_SCENARIOS, &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  REQUIRE(rc == 0);
  Outcome o;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      o.eof = r == 0;
      break;
    }
    o.out.append(buf, static_cast<std::size_t>(r));
  }
  ::close(fds[0]);
  if (!o.eof) ::kill(pid, SIGKILL);
  while (::waitpid(pid, &o.status, 0) < 0 && errno == EINTR) {
  }
  return o;
}

void check_clean_exit(const char* scenario, const char* line) {
  INFO("scenario " << scenario);
  const Outcome o = run_scenario(scenario);
  INFO("stdout: " << o.out);
  CHECK(o.eof);  // no worker, server or child of the object outlived the program
  REQUIRE(WIFEXITED(o.status));
  CHECK(WEXITSTATUS(o.status) == 0);
  CHECK(o.out.find(line) != std::string::npos);
}

}  // namespace

TEST_CASE("exit: a function-local static Pool never closed exits cleanly", "[process][exit]") {
  check_clean_exit("pool-local-static", "pool: 49\n");
}

TEST_CASE("exit: a global unique_ptr<Pool> never closed exits cleanly", "[process][exit]") {
  check_clean_exit("pool-global", "pool: 49\n");
}

TEST_CASE("exit: a Pool whose thread (and hub) ended before it exits cleanly", "[process][exit]") {
  check_clean_exit("pool-thread-ended", "pool: 49\n");
}

TEST_CASE("exit: a static Pool with tasks and an imap in flight exits cleanly", "[process][exit]") {
  check_clean_exit("pool-busy", "pool: 9\n");
}

TEST_CASE("exit: a static process Queue holding an item exits cleanly", "[process][exit]") {
  check_clean_exit("queue-global", "queue: 1\n");
}

TEST_CASE("exit: a static Manager and proxy exit cleanly", "[process][exit]") {
  check_clean_exit("manager-static", "manager: 1\n");
}

TEST_CASE("exit: a static Popen never waited exits cleanly", "[process][exit]") {
  check_clean_exit("popen-static", "popen: 1\n");
}

TEST_CASE("exit: a static StreamServer still serving exits cleanly", "[process][exit]") {
  check_clean_exit("server-static", "server: 1\n");
}

TEST_CASE("exit: a static Task parked in a sleep exits cleanly", "[process][exit]") {
  check_clean_exit("task-static", "task: 1\n");
}
