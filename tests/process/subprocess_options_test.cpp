// Popen's less common options (files and descriptors as stdio, pass_fds, sessions and
// process groups, executable, umask, user/group), the group kill on timeout, ScopedPopen
// and getoutput / getstatusoutput. Issue 14: parity with CPython's subprocess.
#include <braid/process/subprocess.hpp>

#include <catch2/catch.hpp>

#include <braid/runtime/wait.hpp>

#include "subprocess_test_support.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace sp = braid::subprocess;

namespace {

using braid::test::subprocess::capture;
using braid::test::subprocess::Clock;
using braid::test::subprocess::kBound;
using braid::test::subprocess::open_fds;

// A scratch file name, removed at scope exit.
struct TempFile {
  std::string path;
  TempFile() {
    char tmpl[] = "/tmp/braid-subprocess-opt-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
  }
  ~TempFile() { ::unlink(path.c_str()); }
  std::string text() const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

// A pipe whose ends close at scope exit (close-on-exec, as braid's callers would have).
struct TestPipe {
  int r = -1, w = -1;
  TestPipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~TestPipe() {
    close_r();
    close_w();
  }
  void close_r() {
    if (r >= 0) ::close(std::exchange(r, -1));
  }
  void close_w() {
    if (w >= 0) ::close(std::exchange(w, -1));
  }
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(r, buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      REQUIRE(n > 0);
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
};

// The process group and session of the program that printed /proc/self/stat, and its pid.
struct StatIds {
  long pid = 0, pgrp = 0, session = 0;
};
StatIds parse_stat(const std::string& stat) {
  StatIds ids;
  std::istringstream head(stat);
  head >> ids.pid;
  std::istringstream rest(stat.substr(stat.rfind(')') + 1));
  std::string state;
  long ppid = 0;
  rest >> state >> ppid >> ids.pgrp >> ids.session;
  return ids;
}

// Parks until `pid` (not necessarily our child) has exited: its pidfd becomes readable.
bool exits_within(pid_t pid, std::chrono::seconds bound) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return errno == ESRCH;  // already gone
  bool exited = true;
  try {
    braid::wait_readable(pidfd, bound);
  } catch (const braid::TimeoutError&) {
    exited = false;
  }
  ::close(pidfd);
  return exited;
}

}  // namespace

// ---- files and descriptors as stdio ----

TEST_CASE("subprocess options: an open descriptor as stdout and stdin; the parent's stays open",
          "[process][subprocess]") {
  TestPipe to_child, from_child;
  REQUIRE(::write(to_child.w, "fed through a descriptor\n", 25) == 25);
  to_child.close_w();
  sp::Options o;
  o.in = sp::Fd{to_child.r};
  o.out = sp::Fd{from_child.w};
  sp::Popen p({"cat"}, o);
  CHECK(p.wait(kBound) == 0);
  // Borrowed, not taken: both are still ours (and still open).
  CHECK(::fcntl(to_child.r, F_GETFD) >= 0);
  CHECK(::fcntl(from_child.w, F_GETFD) >= 0);
  from_child.close_w();
  CHECK(from_child.read_all() == "fed through a descriptor\n");
}

TEST_CASE("subprocess options: descriptors 0..2 as sources do not clobber each other",
          "[process][subprocess]") {
  // The child's stdout is our fd 2 (stderr), its stderr a pipe: with a naive dup2 order
  // the pipe would land on 2 first and stdout would follow it.
  TestPipe err;
  sp::Options o;
  o.out = sp::Fd{2};
  o.err = sp::Fd{err.w};
  o.in = sp::DEVNULL;
  sp::Popen p({"sh", "-c", "echo to-err >&2"}, o);
  CHECK(p.wait(kBound) == 0);
  err.close_w();
  CHECK(err.read_all() == "to-err\n");
}

TEST_CASE("subprocess options: File opens a path for the child: read, truncate, append",
          "[process][subprocess]") {
  TempFile out, in;
  std::ofstream(out.path) << "old contents that must go\n";
  sp::RunOptions o;
  o.out = sp::File{out.path};
  CHECK(sp::run({"echo", "first"}, o).returncode == 0);
  CHECK(out.text() == "first\n");
  o.out = sp::File{out.path, true};
  o.err = sp::STDOUT;
  CHECK(sp::run({"sh", "-c", "echo second; echo third >&2"}, o).returncode == 0);
  CHECK(out.text() == "first\nsecond\nthird\n");

  std::ofstream(in.path) << "b\na\n";
  sp::RunOptions s = capture();
  s.in = sp::File{in.path};
  CHECK(sp::run({"sort"}, s).out == "a\nb\n");
}

TEST_CASE("subprocess options: a bad descriptor or file is a system_error naming it",
          "[process][subprocess]") {
  TestPipe closed;
  const int gone = closed.w;
  closed.close_w();  // now a closed number
  sp::Options o;
  o.out = sp::Fd{gone};
  std::string what;
  try {
    sp::Popen p({"true"}, o);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBADF);
    what = e.what();
  }
  CHECK(what.find("Popen: stdout Fd{" + std::to_string(gone) + "}") != std::string::npos);

  o.out = sp::Fd{-1};
  CHECK_THROWS_WITH(sp::Popen({"true"}, o), Catch::Contains("Popen: stdout Fd{-1}"));

  sp::Options f;
  f.in = sp::File{"/nonexistent/braid-input"};
  CHECK_THROWS_WITH(sp::Popen({"cat"}, f),
                    Catch::Contains("Popen: stdin File '/nonexistent/braid-input'") &&
                        Catch::Contains("No such file"));
  // STDOUT is still only for err, whatever the type of the other fields.
  sp::Options bad;
  bad.out = sp::STDOUT;
  CHECK_THROWS_AS(sp::Popen({"true"}, bad), std::invalid_argument);
}

// ---- pass_fds and close_fds ----

TEST_CASE(
    "subprocess options: pass_fds hands a close-on-exec descriptor to the child at its number",
    "[process][subprocess]") {
  TestPipe channel;  // close-on-exec: without pass_fds the child would not get it
  const int leaky = ::fcntl(0, F_DUPFD, 200);  // inheritable, but close_fds closes it
  REQUIRE(leaky >= 200);
  sp::RunOptions o = capture();
  o.pass_fds = {channel.w};
  const std::string script =
      "echo through-fd >&" + std::to_string(channel.w) + "; ls -1 /proc/self/fd";
  const auto r = sp::run({"sh", "-c", script}, o);
  ::close(leaky);
  CHECK(r.returncode == 0);
  CHECK(r.out.find("\n" + std::to_string(channel.w) + "\n") != std::string::npos);
  CHECK(r.out.find("\n" + std::to_string(leaky) + "\n") == std::string::npos);
  channel.close_w();
  CHECK(channel.read_all() == "through-fd\n");
  // Still close-on-exec in the parent: only the child's copy was made inheritable.
  CHECK((::fcntl(channel.r, F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("subprocess options: pass_fds far above the others: the gap below it is closed too",
          "[process][subprocess]") {
  // Past 4096 numbers the posix_spawn path closes what is open in the gap rather than
  // every number in it: an inheritable descriptor there must still not reach the child.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 8192) {
    WARN("skipped: RLIMIT_NOFILE hard limit " << saved.rlim_max << " < 8192");
    return;
  }
  rlimit raised = saved;
  raised.rlim_cur = 8192;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &raised) == 0);
  TestPipe channel;
  const int high = ::fcntl(channel.w, F_DUPFD_CLOEXEC, 7000);
  const int leaky = ::fcntl(0, F_DUPFD, 5000);  // inheritable, in the gap
  // (dash cannot say >&7000: it takes descriptors up to 9, hence /dev/fd.)
  for (const bool vfork_path : {false, true}) {
    sp::RunOptions o = capture();
    o.pass_fds = {high};
    if (vfork_path) o.umask = 022;
    const auto r = sp::run(
        {"sh", "-c", "echo far > /dev/fd/" + std::to_string(high) + "; ls /proc/self/fd"}, o);
    CHECK(r.out.find("\n" + std::to_string(high) + "\n") != std::string::npos);
    CHECK(r.out.find("\n" + std::to_string(leaky) + "\n") == std::string::npos);
  }
  ::close(high);
  ::close(leaky);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  channel.close_w();
  CHECK(channel.read_all() == "far\nfar\n");
}

TEST_CASE("subprocess options: pass_fds with close_fds off still clears close-on-exec",
          "[process][subprocess]") {
  TestPipe channel;
  sp::RunOptions o;
  o.close_fds = false;
  o.pass_fds = {channel.w};
  CHECK(sp::run({"sh", "-c", "echo kept >&" + std::to_string(channel.w)}, o).returncode == 0);
  channel.close_w();
  CHECK(channel.read_all() == "kept\n");
}

TEST_CASE("subprocess options: pass_fds of a closed or negative descriptor is an error",
          "[process][subprocess]") {
  TestPipe p;
  const int gone = p.w;
  p.close_w();
  sp::Options o;
  o.pass_fds = {gone};
  try {
    sp::Popen child({"true"}, o);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBADF);
    CHECK(std::string(e.what()).find("Popen: pass_fds: descriptor " + std::to_string(gone)) !=
          std::string::npos);
  }
  o.pass_fds = {-3};
  CHECK_THROWS_AS(sp::Popen({"true"}, o), std::invalid_argument);
}

// ---- sessions, process groups, executable, umask ----

TEST_CASE("subprocess options: start_new_session and process_group place the child",
          "[process][subprocess]") {
  const long our_session = ::getsid(0), our_group = ::getpgrp();
  auto ids = parse_stat(sp::check_output({"cat", "/proc/self/stat"}));
  CHECK(ids.session == our_session);
  CHECK(ids.pgrp == our_group);

  sp::RunOptions session;
  session.start_new_session = true;
  ids = parse_stat(sp::check_output({"cat", "/proc/self/stat"}, session));
  CHECK(ids.session == ids.pid);
  CHECK(ids.pgrp == ids.pid);

  sp::RunOptions group;
  group.process_group = 0;  // a new group led by the child, in our session
  ids = parse_stat(sp::check_output({"cat", "/proc/self/stat"}, group));
  CHECK(ids.pgrp == ids.pid);
  CHECK(ids.session == our_session);

  // Joining an existing group: that of a leader started just for it.
  sp::Options lead;
  lead.process_group = 0;
  sp::Popen leader({"sleep", "30"}, lead);
  group.process_group = leader.pid();
  ids = parse_stat(sp::check_output({"cat", "/proc/self/stat"}, group));
  CHECK(ids.pgrp == leader.pid());
  leader.kill();
  leader.wait(kBound);

  sp::Options bad;
  bad.process_group = -1;
  CHECK_THROWS_AS(sp::Popen({"true"}, bad), std::invalid_argument);
}

TEST_CASE("subprocess options: joining a group that does not exist fails, naming setpgid",
          "[process][subprocess]") {
  // The group of a child that has exited and been reaped is gone (its pid is not reused
  // that fast: Linux hands out pids in increasing order).
  sp::Popen gone({"true"});
  const pid_t pgid = gone.pid();
  gone.wait(kBound);
  for (const bool vfork_path : {false, true}) {
    sp::Options o;
    o.process_group = pgid;
    if (vfork_path) o.umask = 022;
    try {
      sp::Popen p({"true"}, o);
      FAIL("no error");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EPERM);
      CHECK(std::string(e.what()).find("spawn 'true': setpgid " + std::to_string(pgid)) !=
            std::string::npos);
    }
  }
}

TEST_CASE("subprocess options: executable runs another program under args[0]",
          "[process][subprocess]") {
  sp::RunOptions o = capture();
  o.executable = "sh";  // searched in PATH, like args[0]
  auto r = sp::run({"my-argv0", "-c", "echo $0"}, o);
  CHECK(r.returncode == 0);
  CHECK(r.out == "my-argv0\n");

  // With shell, it replaces /bin/sh (and is the shell's own $0).
  sp::RunOptions sh = capture();
  sh.shell = true;
  sh.executable = "/bin/sh";
  CHECK(sp::run(std::string("echo shell:$0"), sh).out == "shell:/bin/sh\n");

  sp::Options missing;
  missing.executable = "braid-no-such-executable";
  std::string what;
  try {
    sp::Popen p({"true"}, missing);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == ENOENT);
    what = e.what();
  }
  CHECK(what.find("spawn 'braid-no-such-executable'") != std::string::npos);
}

TEST_CASE("subprocess options: umask sets the child's file-creation mask",
          "[process][subprocess]") {
  sp::RunOptions o = capture();
  o.umask = 027;
  CHECK(sp::run({"sh", "-c", "umask"}, o).out == "0027\n");
  o.umask = 0;
  CHECK(sp::run({"sh", "-c", "umask"}, o).out == "0000\n");
  // Ours is untouched.
  const mode_t ours = ::umask(022);
  ::umask(ours);
  char expected[16];
  std::snprintf(expected, sizeof expected, "%04o\n", static_cast<unsigned>(ours & 0777));
  CHECK(sp::run({"sh", "-c", "umask"}, capture()).out == expected);
}

TEST_CASE("subprocess options: the vfork path reports cwd and exec failures like posix_spawn",
          "[process][subprocess]") {
  sp::Options o;
  o.umask = 022;  // takes the vfork path
  o.cwd = "/nonexistent-braid-dir";
  try {
    sp::Popen p({"true"}, o);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == ENOENT);
    CHECK(std::string(e.what()).find("spawn 'true': chdir '/nonexistent-braid-dir'") !=
          std::string::npos);
  }
  sp::Options g;
  g.umask = 022;
  CHECK_THROWS_WITH(sp::Popen({"braid-no-such-program"}, g),
                    Catch::Contains("spawn 'braid-no-such-program'"));
  // The stdio, close_fds and pass_fds work on that path too.
  TestPipe channel;
  sp::RunOptions r = capture();
  r.umask = 077;
  r.pass_fds = {channel.w};
  r.input = "in\n";
  const auto cp =
      sp::run({"sh", "-c", "cat; echo err >&2; echo fd >&" + std::to_string(channel.w)}, r);
  CHECK(cp.out == "in\n");
  CHECK(cp.err == "err\n");
  channel.close_w();
  CHECK(channel.read_all() == "fd\n");
}

// ---- user and group ----

TEST_CASE("subprocess options: user, group and extra_groups switch the child's ids",
          "[process][subprocess]") {
  if (::geteuid() != 0) {
    WARN("skipped: switching users needs root (euid " << ::geteuid() << ")");
    return;
  }
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) {
    WARN("skipped: no user 'nobody' on this system");
    return;
  }
  const std::string uid = std::to_string(nobody->pw_uid);
  sp::RunOptions o = capture();
  o.user = "nobody";
  CHECK(sp::run({"id", "-u"}, o).out == uid + "\n");
  o.user = uid;  // a number works too
  o.group = uid;
  o.extra_groups = std::vector<std::string>{uid};
  CHECK(sp::run({"id", "-u"}, o).out == uid + "\n");
  CHECK(sp::run({"id", "-g"}, o).out == uid + "\n");
  CHECK(sp::run({"id", "-G"}, o).out == uid + "\n");
  // Ours are untouched.
  CHECK(::geteuid() == 0);
  CHECK(sp::run({"id", "-u"}, capture()).out == "0\n");
}

TEST_CASE("subprocess options: a failed id change comes back from the child, naming the step",
          "[process][subprocess]") {
  // More supplementary groups than the kernel allows (NGROUPS_MAX, 65536): setgroups
  // fails with EINVAL in the child, whoever we are.
  sp::Options o;
  o.extra_groups = std::vector<std::string>(65537, "0");
  try {
    sp::Popen p({"true"}, o);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EINVAL);
    CHECK(std::string(e.what()).find("spawn 'true': setgroups") != std::string::npos);
  }
}

TEST_CASE("subprocess options: an unknown user or group is std::invalid_argument naming it",
          "[process][subprocess]") {
  sp::Options o;
  o.user = "braid-no-such-user";
  CHECK_THROWS_WITH(sp::Popen({"true"}, o), "Popen: user 'braid-no-such-user' not found");
  sp::Options g;
  g.group = "braid-no-such-group";
  CHECK_THROWS_WITH(sp::Popen({"true"}, g), "Popen: group 'braid-no-such-group' not found");
  g.group.reset();
  g.extra_groups = std::vector<std::string>{"braid-no-such-group"};
  CHECK_THROWS_WITH(sp::Popen({"true"}, g), "Popen: extra group 'braid-no-such-group' not found");
}

TEST_CASE("subprocess options: as another user, exec is checked with that user's rights",
          "[process][subprocess]") {
  if (::geteuid() != 0 || ::getpwnam("nobody") == nullptr) {
    WARN("skipped: needs root and a user 'nobody'");
    return;
  }
  // A root-only program: nobody may not run it, and the error comes back from the child.
  char dir[] = "/tmp/braid-subprocess-user-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  ::chmod(dir, 0755);
  const std::string prog = std::string(dir) + "/root-only";
  std::ofstream(prog) << "#!/bin/sh\necho ran\n";
  ::chmod(prog.c_str(), 0700);
  sp::Options o;
  o.user = "nobody";
  std::string what;
  int code = 0;
  try {
    sp::Popen p({prog}, o);
  } catch (const std::system_error& e) {
    code = e.code().value();
    what = e.what();
  }
  sp::run({"rm", "-rf", dir});
  CHECK(code == EACCES);
  CHECK(what.find("spawn '" + prog + "'") != std::string::npos);
}

// ---- timeouts that kill the group ----

namespace {

// A shell whose background grandchild holds the pipes too, and prints its pid first.
// `exec` makes the foreground sleep the child itself, so killing the child leaves only
// the grandchild (dash would otherwise fork it, and it would outlive the test, holding
// ctest's output pipe).
const std::vector<std::string> kShellWithGrandchild = {"sh", "-c",
                                                       "sleep 100 & echo $!; exec sleep 100"};

// Runs kShellWithGrandchild with `o` and a 300 ms timeout; checks that run() returned
// in time and returns the grandchild's pid, read from the output TimeoutExpired carries.
pid_t run_until_timeout(sp::RunOptions o) {
  o.capture_output = true;
  o.timeout = 300ms;
  const auto start = Clock::now();
  std::string output;
  try {
    sp::run(kShellWithGrandchild, o);
    FAIL("no timeout");
  } catch (const sp::TimeoutExpired& e) {
    output = e.output;
  }
  CHECK(Clock::now() - start < kBound);
  return static_cast<pid_t>(std::stol(output));
}

}  // namespace

TEST_CASE("subprocess options: run's timeout kills the whole group of a new session",
          "[process][subprocess]") {
  sp::RunOptions session;
  session.start_new_session = true;
  CHECK(exits_within(run_until_timeout(session), kBound));
  sp::RunOptions group;
  group.process_group = 0;
  CHECK(exits_within(run_until_timeout(group), kBound));
}

TEST_CASE("subprocess options: without a group only the child is killed; run still returns",
          "[process][subprocess]") {
  const pid_t grandchild = run_until_timeout({});
  CHECK(::kill(grandchild, 0) == 0);  // survived, as in CPython
  ::kill(grandchild, SIGKILL);
  CHECK(exits_within(grandchild, kBound));
}

TEST_CASE("subprocess options: communicate after kill() stops draining a grandchild's pipe",
          "[process][subprocess]") {
  sp::Options o;
  o.out = sp::PIPE;
  sp::Popen p(kShellWithGrandchild, o);
  std::string first;
  try {
    p.communicate(std::nullopt, 300ms);
    FAIL("no timeout");
  } catch (const sp::TimeoutExpired& e) {
    first = e.output;
  }
  p.kill();
  const auto start = Clock::now();
  const auto [out, err] = p.communicate();  // the grandchild still holds stdout
  CHECK(Clock::now() - start < kBound);
  CHECK(out == first);
  CHECK(*p.returncode() == -SIGKILL);
  const pid_t grandchild = static_cast<pid_t>(std::stol(out));
  ::kill(grandchild, SIGKILL);
  CHECK(exits_within(grandchild, kBound));
}

TEST_CASE("subprocess options: kill_group kills the group, or the child alone",
          "[process][subprocess]") {
  sp::Options o;
  o.out = sp::PIPE;
  o.start_new_session = true;
  sp::Popen p(kShellWithGrandchild, o);
  const pid_t grandchild = static_cast<pid_t>(std::stol(p.stdout_stream().readline(kBound)));
  p.kill_group();
  CHECK(p.wait(kBound) == -SIGKILL);
  CHECK(exits_within(grandchild, kBound));
  p.kill_group();  // reaped: a no-op

  sp::Popen alone({"sleep", "100"});  // in our own group: only the child is signalled
  alone.kill_group();
  CHECK(alone.wait(kBound) == -SIGKILL);
}

// ---- ScopedPopen ----

TEST_CASE("subprocess options: ScopedPopen closes stdin and waits at scope exit",
          "[process][subprocess]") {
  TestPipe out;
  pid_t pid = 0;
  {
    sp::Options o;
    o.in = sp::PIPE;
    o.out = sp::Fd{out.w};
    sp::ScopedPopen p(sp::Popen({"sort"}, o));
    pid = p->pid();
    p->stdin_stream().write("pear\napple\n");
  }  // sort sees EOF, prints, exits, and is reaped here
  out.close_w();
  CHECK(out.read_all() == "apple\npear\n");
  errno = 0;
  CHECK(::waitpid(pid, nullptr, WNOHANG) < 0);
  CHECK(errno == ECHILD);  // reaped already, not a zombie left for later

  sp::ScopedPopen q(sp::Popen({"sh", "-c", "exit 4"}));
  CHECK(q.close() == 4);
  CHECK(q.close() == 4);  // idempotent
  CHECK_FALSE(q.killed());
}

TEST_CASE("subprocess options: ScopedPopen kills a child still running after exit_wait",
          "[process][subprocess]") {
  const auto start = Clock::now();
  sp::Options o;
  o.start_new_session = true;
  o.out = sp::PIPE;
  sp::ScopedPopen p(sp::Popen(kShellWithGrandchild, o), 200ms);
  const pid_t grandchild = static_cast<pid_t>(std::stol(p->stdout_stream().readline(kBound)));
  CHECK(p.close() == -SIGKILL);
  CHECK(p.killed());
  CHECK(Clock::now() - start < kBound);
  CHECK(exits_within(grandchild, kBound));  // the group went with it
}

TEST_CASE("subprocess options: ScopedPopen during an exception, and when its wait is interrupted",
          "[process][subprocess]") {
  pid_t pid = 0;
  CHECK_THROWS_AS(
      [&] {
        sp::ScopedPopen p(sp::Popen({"sleep", "100"}), 100ms);
        pid = p->pid();
        throw std::runtime_error("leaving the scope");
      }(),
      std::runtime_error);
  CHECK(exits_within(pid, kBound));

  // An unbounded wait (asked for explicitly) interrupted by an enclosing Timeout: the
  // Timeout propagates from the destructor, and the child is killed.
  const auto start = Clock::now();
  bool timed_out = false;
  try {
    braid::Timeout t(200ms);
    sp::ScopedPopen p(sp::Popen({"sleep", "100"}), std::nullopt);
    pid = p->pid();
  } catch (const braid::TimeoutError&) {
    timed_out = true;
  }
  CHECK(timed_out);
  CHECK(Clock::now() - start < kBound);
  CHECK(exits_within(pid, kBound));
}

// ---- getoutput / getstatusoutput ----

TEST_CASE("subprocess options: getstatusoutput runs a shell, merges stderr, strips one newline",
          "[process][subprocess]") {
  auto [status, output] = sp::getstatusoutput("echo out; echo err >&2; exit 3");
  CHECK(status == 3);
  CHECK(output == "out\nerr");
  CHECK(sp::getstatusoutput("printf 'a\\n\\n'") == std::pair<int, std::string>{0, "a\n"});
  CHECK(sp::getstatusoutput("printf 'no newline'").second == "no newline");
  CHECK(sp::getstatusoutput("kill -9 $$").first == -SIGKILL);
  CHECK(sp::getoutput("echo hi") == "hi");
  CHECK(sp::getoutput("braid-no-such-command 2>/dev/null; echo $?") == "127");
  CHECK_THROWS_AS(sp::getoutput("sleep 100", 200ms), sp::TimeoutExpired);
}

TEST_CASE("subprocess options: no descriptor leaks on the new paths, failures included",
          "[process][subprocess]") {
  TempFile file;
  TestPipe channel;
  sp::run({"true"}, capture());  // warm up: the hub and its reactor exist now
  const auto before = open_fds();
  for (int i = 0; i < 2; ++i) {
    sp::RunOptions o = capture();
    o.in = sp::File{file.path};
    o.pass_fds = {channel.w};
    sp::run({"true"}, o);
    o.umask = 022;  // the vfork path
    o.err = sp::Fd{channel.w};
    o.capture_output = false;
    o.out = sp::File{file.path, true};
    sp::run({"true"}, o);
    CHECK_THROWS(sp::Popen({"braid-no-such-program"}, o));
    sp::Options bad;
    bad.in = sp::File{file.path};
    bad.out = sp::File{"/nonexistent/x"};
    CHECK_THROWS(sp::Popen({"true"}, bad));
    bad.out = sp::PIPE;
    bad.pass_fds = {-1};
    CHECK_THROWS(sp::Popen({"true"}, bad));
    sp::ScopedPopen scoped(sp::Popen({"cat"}, [] {
      sp::Options s;
      s.in = sp::PIPE;
      s.out = sp::PIPE;
      return s;
    }()));
    CHECK(scoped.close() == 0);
    CHECK(sp::getoutput("echo x") == "x");
  }
  CHECK(open_fds() == before);
}
