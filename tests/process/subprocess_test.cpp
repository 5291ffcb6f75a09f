#include <braid/process/subprocess.hpp>

#include <catch2/catch.hpp>

#include "subprocess_test_support.hpp"
#include "test_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
namespace sp = braid::subprocess;

namespace {

using braid::test::subprocess::capture;
using braid::test::subprocess::Clock;
using braid::test::subprocess::kBound;
using braid::test::subprocess::open_fds;

sp::Options pipes(sp::Stdio in, sp::Stdio out, sp::Stdio err = sp::INHERIT) {
  sp::Options o;
  o.in = in;
  o.out = out;
  o.err = err;
  return o;
}

std::set<int> parse_fd_list(const std::string& ls_output) {
  std::set<int> fds;
  std::istringstream in(ls_output);
  for (std::string line; std::getline(in, line);) fds.insert(std::stoi(line));
  return fds;
}

// A scratch directory removed at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/braid-subprocess-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { sp::run({"rm", "-rf", path}); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) const {
    const std::string file = path + "/" + name;
    std::ofstream(file) << text;
    ::chmod(file.c_str(), mode);
    return file;
  }
};

// Waits (bounded) until `pid` no longer exists, i.e. it was reaped by someone.
bool gone_within(pid_t pid, std::chrono::seconds bound) {
  const auto until = Clock::now() + bound;
  while (Clock::now() < until) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    braid::sleep(5ms);
  }
  return false;
}

// No child of this process is left, zombie or alive (the background reaper included).
bool no_children_within(std::chrono::seconds bound) {
  const auto until = Clock::now() + bound;
  while (Clock::now() < until) {
    if (::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD) return true;
    braid::sleep(5ms);
  }
  return false;
}

template <class F>
std::error_code spawn_error(F&& f, std::string& what) {
  try {
    f();
  } catch (const std::system_error& e) {
    what = e.what();
    return e.code();
  }
  FAIL("no std::system_error");
  return {};
}

}  // namespace

// ---- starting programs ----

TEST_CASE("subprocess: run captures stdout, stderr and the exit status", "[process][subprocess]") {
  auto r = sp::run({"sh", "-c", "echo out; echo err >&2; exit 3"}, capture());
  CHECK(r.returncode == 3);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK(r.args == std::vector<std::string>{"sh", "-c", "echo out; echo err >&2; exit 3"});
}

TEST_CASE("subprocess: Popen args vector, initializer list and pid/args accessors",
          "[process][subprocess]") {
  sp::Popen p(std::vector<std::string>{"echo", "Hello"}, pipes(sp::INHERIT, sp::PIPE));
  CHECK(p.pid() > 0);
  CHECK(p.args() == std::vector<std::string>{"echo", "Hello"});
  CHECK(p.communicate().first == "Hello\n");
  CHECK(p.returncode() == 0);
  sp::Popen q({"echo", "a", "b c"}, pipes(sp::INHERIT, sp::PIPE));
  CHECK(q.communicate().first == "a b c\n");
}

TEST_CASE("subprocess: the string form without shell names a program", "[process][subprocess]") {
  sp::Popen p(std::string("pwd"), pipes(sp::INHERIT, sp::PIPE));
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
  CHECK(p.communicate().first == std::string(cwd) + "\n");
  CHECK(p.args() == std::vector<std::string>{"pwd"});
  std::string what;
  CHECK(spawn_error([] { sp::Popen q(std::string("echo Hello")); }, what) ==
        std::errc::no_such_file_or_directory);
  CHECK(what == "spawn 'echo Hello': No such file or directory");
}

TEST_CASE("subprocess: shell = true runs /bin/sh -c", "[process][subprocess]") {
  sp::Options o = pipes(sp::INHERIT, sp::PIPE);
  o.shell = true;
  sp::Popen p(std::string("echo $((1 + 2)) | tr 3 x"), o);
  CHECK(p.communicate().first == "x\n");
  // With a vector, the first element is the command line and the rest are $0, $1...
  sp::Popen q({"echo \"$0-$1\"", "a", "b"}, o);
  CHECK(q.communicate().first == "a-b\n");
  sp::RunOptions r;
  r.shell = true;
  r.capture_output = true;
  CHECK(sp::run(std::string("exit 7"), r).returncode == 7);
}

TEST_CASE("subprocess: err = STDOUT merges stderr into the stdout pipe", "[process][subprocess]") {
  sp::Popen p({"sh", "-c", "echo 1; echo 2 >&2; echo 3"}, pipes(sp::INHERIT, sp::PIPE, sp::STDOUT));
  auto [out, err] = p.communicate();
  CHECK(out == "1\n2\n3\n");
  CHECK(err.empty());
  CHECK_THROWS_AS(p.stderr_stream(), std::logic_error);
}

TEST_CASE("subprocess: DEVNULL gives EOF on stdin and discards output", "[process][subprocess]") {
  sp::Popen p({"cat"}, pipes(sp::DEVNULL, sp::PIPE));
  CHECK(p.communicate(std::nullopt, kBound).first.empty());
  CHECK(p.returncode() == 0);
  sp::Popen q({"sh", "-c", "echo gone; echo gone >&2"},
              pipes(sp::INHERIT, sp::DEVNULL, sp::DEVNULL));
  auto [out, err] = q.communicate();
  CHECK(out.empty());
  CHECK(err.empty());
  CHECK(q.returncode() == 0);
}

TEST_CASE("subprocess: cwd sets the child's directory, and relative programs resolve in it",
          "[process][subprocess]") {
  TempDir dir;
  sp::RunOptions o = capture();
  o.cwd = dir.path;
  CHECK(sp::run({"pwd"}, o).out == dir.path + "\n");
  dir.write("hello.sh", "#!/bin/sh\necho hello from $(basename \"$PWD\")\n", 0755);
  auto r = sp::run({"./hello.sh"}, o);
  CHECK(r.returncode == 0);
  CHECK(r.out == "hello from " + dir.path.substr(dir.path.rfind('/') + 1) + "\n");
}

TEST_CASE("subprocess: env replaces the environment, and its PATH is searched",
          "[process][subprocess]") {
  sp::RunOptions o = capture();
  o.env = std::map<std::string, std::string>{{"FOO", "bar"}, {"test_id", "1"}};
  // No PATH in env: Python's default /bin:/usr/bin is searched.
  CHECK(sp::run({"env"}, o).out == "FOO=bar\ntest_id=1\n");

  TempDir dir;
  dir.write("only-here", "#!/bin/sh\necho found\n", 0755);
  o.env = std::map<std::string, std::string>{{"PATH", dir.path}};
  CHECK(sp::run({"only-here"}, o).out == "found\n");
  CHECK_THROWS_AS(sp::run({"only-here"}, capture()), std::system_error);

  o.env = std::map<std::string, std::string>{{"A=B", "1"}};
  CHECK_THROWS_AS(sp::run({"true"}, o), std::invalid_argument);
}

TEST_CASE("subprocess: the parent's environment is inherited by default", "[process][subprocess]") {
  ::setenv("BRAID_SUBPROCESS_TEST", "inherited", 1);
  CHECK(sp::run({"sh", "-c", "echo $BRAID_SUBPROCESS_TEST"}, capture()).out == "inherited\n");
  ::unsetenv("BRAID_SUBPROCESS_TEST");
}

// ---- failures to start are errors in the parent ----

TEST_CASE("subprocess: a missing program is a system_error naming it", "[process][subprocess]") {
  std::string what;
  CHECK(spawn_error(
            [] {
              sp::Popen p({"braid-no-such-program", "x"});
            },
            what) == std::errc::no_such_file_or_directory);
  CHECK(what == "spawn 'braid-no-such-program': No such file or directory");
  CHECK(spawn_error([] { sp::run({"/nonexistent/prog"}); }, what) ==
        std::errc::no_such_file_or_directory);
  CHECK(what.find("/nonexistent/prog") != std::string::npos);
}

TEST_CASE("subprocess: a file that is not executable is a system_error", "[process][subprocess]") {
  TempDir dir;
  const std::string plain = dir.write("plain", "#!/bin/sh\necho no\n", 0644);
  std::string what;
  CHECK(spawn_error([&] { sp::Popen p({plain}); }, what) == std::errc::permission_denied);
  CHECK(what == "spawn '" + plain + "': Permission denied");
  // A directory is not a program either.
  CHECK(spawn_error([&] { sp::Popen p({dir.path}); }, what) == std::errc::permission_denied);
  // Executable but neither ELF nor script.
  const std::string junk = dir.write("junk", std::string("\x01\x02\x03garbage", 10), 0755);
  CHECK(spawn_error([&] { sp::Popen p({junk}); }, what) == std::errc::executable_format_error);
  // Found in PATH but not executable: EACCES, like execvp.
  sp::Options o;
  o.env = std::map<std::string, std::string>{{"PATH", dir.path}};
  CHECK(spawn_error([&] { sp::Popen p({"plain"}, o); }, what) == std::errc::permission_denied);
}

TEST_CASE("subprocess: a bad cwd is a system_error naming the program and the cwd",
          "[process][subprocess]") {
  sp::Options o;
  o.cwd = "/nonexistent/dir";
  std::string what;
  CHECK(spawn_error([&] { sp::Popen p({"ls"}, o); }, what) == std::errc::no_such_file_or_directory);
  CHECK(what == "spawn 'ls': chdir '/nonexistent/dir': No such file or directory");
  // Even when the program is missing too: the child would fail at chdir first.
  CHECK(spawn_error([&] { sp::Popen p({"braid-no-such-program"}, o); }, what) ==
        std::errc::no_such_file_or_directory);
  CHECK(what.find("chdir '/nonexistent/dir'") != std::string::npos);
  o.cwd = "/etc/passwd";
  CHECK(spawn_error([&] { sp::Popen p({"ls"}, o); }, what) == std::errc::not_a_directory);
}

TEST_CASE("subprocess: misuse of the options is std::invalid_argument", "[process][subprocess]") {
  CHECK_THROWS_AS(sp::Popen(std::vector<std::string>{}), std::invalid_argument);
  CHECK_THROWS_AS(sp::Popen({"cat"}, pipes(sp::STDOUT, sp::INHERIT)), std::invalid_argument);
  CHECK_THROWS_AS(sp::Popen({"cat"}, pipes(sp::INHERIT, sp::STDOUT)), std::invalid_argument);
  CHECK_THROWS_AS(sp::Popen({std::string("a\0b", 3)}), std::invalid_argument);
  sp::RunOptions o = capture();
  o.out = sp::PIPE;
  CHECK_THROWS_AS(sp::run({"true"}, o), std::invalid_argument);
  sp::RunOptions i;
  i.input = "x";
  i.in = sp::DEVNULL;
  CHECK_THROWS_AS(sp::run({"cat"}, i), std::invalid_argument);
}

// ---- communicate ----

TEST_CASE("subprocess: communicate moves 10 MB through cat both ways", "[process][subprocess]") {
  std::string input(10 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < input.size(); ++i)
    input[i] = static_cast<char>(i * 2654435761u >> 13);
  sp::Popen p({"cat"}, pipes(sp::PIPE, sp::PIPE, sp::PIPE));
  auto [out, err] = p.communicate(input, 60s);
  CHECK(out.size() == input.size());
  CHECK(out == input);
  CHECK(err.empty());
  CHECK(p.returncode() == 0);
}

TEST_CASE("subprocess: communicate cannot deadlock on a full stderr pipe",
          "[process][subprocess]") {
  // The child fills stderr (far beyond a pipe's 64 KiB) before it writes stdout and
  // before it reads stdin: a reader that drained stdout first would wait forever.
  sp::Popen p({"sh", "-c", "head -c 3000000 /dev/zero >&2; cat; echo done"},
              pipes(sp::PIPE, sp::PIPE, sp::PIPE));
  auto [out, err] = p.communicate(std::string(1000000, 'i'), 60s);
  CHECK(err.size() == 3000000);
  CHECK(out.size() == 1000000 + 5);
  CHECK(out.substr(1000000) == "done\n");
}

TEST_CASE("subprocess: communicate ignores a child that stops reading stdin",
          "[process][subprocess]") {
  sp::Popen p({"sh", "-c", "exec 0<&-; echo closed"}, pipes(sp::PIPE, sp::PIPE));
  auto [out, err] = p.communicate(std::string(1 << 20, 'x'), kBound);
  CHECK(out == "closed\n");
  CHECK(p.returncode() == 0);
}

TEST_CASE("subprocess: communicate after TimeoutExpired continues and keeps what was read",
          "[process][subprocess]") {
  sp::Popen p({"sh", "-c", "echo partial; exec sleep 30"}, pipes(sp::PIPE, sp::PIPE, sp::STDOUT));
  const auto start = Clock::now();
  try {
    p.communicate(std::string("ignored input"), 300ms);
    FAIL("no TimeoutExpired");
  } catch (const sp::TimeoutExpired& e) {
    CHECK(Clock::now() - start >= 300ms);
    CHECK(std::string(e.what()) ==
          "Command '['sh', '-c', 'echo partial; exec sleep 30']' timed out after 0.3 seconds");
    CHECK(e.timeout == 300ms);
    CHECK(std::string("partial\n").starts_with(e.output));  // what had arrived by then
  }
  CHECK_FALSE(p.poll());
  CHECK_THROWS_AS(p.communicate(std::string("more")), std::logic_error);  // input only at first
  p.kill();
  auto [out, err] = p.communicate(std::nullopt, kBound);
  CHECK(out == "partial\n");  // nothing lost across the two calls
  CHECK(p.returncode() == -SIGKILL);
  // The streams are finished now: a third call is misuse, like Python's closed file.
  CHECK_THROWS_AS(p.communicate(), std::logic_error);
}

TEST_CASE("subprocess: TimeoutExpired is a braid::TimeoutError", "[process][subprocess]") {
  sp::Popen p(std::string("exec sleep 30"), [] {
    sp::Options o;
    o.shell = true;
    return o;
  }());
  try {
    p.wait(100ms);
    FAIL("no timeout");
  } catch (const braid::TimeoutError& e) {
    CHECK(std::string(e.what()) == "Command 'exec sleep 30' timed out after 0.1 seconds");
  }
  p.kill();
  CHECK(p.wait(kBound) == -SIGKILL);
}

TEST_CASE("subprocess: communicate without pipes just waits, and may be repeated",
          "[process][subprocess]") {
  sp::Popen p({"true"});
  CHECK(p.communicate() == std::pair<std::string, std::string>{});
  CHECK(p.communicate() == std::pair<std::string, std::string>{});
  CHECK(p.returncode() == 0);
}

TEST_CASE("subprocess: communicate input needs stdin = PIPE", "[process][subprocess]") {
  sp::Popen p({"true"});
  CHECK_THROWS_AS(p.communicate(std::string("x")), std::logic_error);
  p.wait(kBound);
}

TEST_CASE("subprocess: an enclosing Timeout interrupts communicate without losing output",
          "[process][subprocess]") {
  sp::Popen p({"sh", "-c", "echo first; exec sleep 30"}, pipes(sp::INHERIT, sp::PIPE));
  {
    braid::Timeout limit(200ms);
    try {
      p.communicate();
      FAIL("not interrupted");
    } catch (const sp::TimeoutExpired&) {
      FAIL("the enclosing Timeout must not become TimeoutExpired");
    } catch (const braid::TimeoutError& e) {
      CHECK(e.fired_by(limit));
    }
  }
  p.kill();
  CHECK(p.communicate(std::nullopt, kBound).first == "first\n");
}

TEST_CASE("subprocess: killing a coroutine parked in communicate unwinds it",
          "[process][subprocess]") {
  braid::Event started;
  pid_t pid = -1;
  auto t = braid::spawn([&] {
    sp::Popen p({"sleep", "30"}, pipes(sp::INHERIT, sp::PIPE));
    pid = p.pid();
    started.set();
    p.communicate();
  });
  REQUIRE(started.wait(kBound));
  t.kill();
  REQUIRE(t.ready());
  ::kill(pid, SIGKILL);  // the destroyed Popen left it running, to be reaped in the background
  CHECK(gone_within(pid, kBound));
  CHECK(no_children_within(kBound));
}

// ---- wait, poll, signals ----

TEST_CASE("subprocess: wait(timeout), poll, returncode, terminate", "[process][subprocess]") {
  sp::Popen p({"sleep", "10"});
  CHECK_FALSE(p.poll());
  CHECK_FALSE(p.returncode());
  const auto start = Clock::now();
  try {
    p.wait(200ms);
    FAIL("no TimeoutExpired");
  } catch (const sp::TimeoutExpired& e) {
    CHECK(Clock::now() - start >= 200ms);
    CHECK(std::string(e.what()) == "Command '['sleep', '10']' timed out after 0.2 seconds");
    CHECK(e.cmd == std::vector<std::string>{"sleep", "10"});
  }
  p.terminate();
  CHECK(p.wait(kBound) == -SIGTERM);
  CHECK(p.returncode() == -SIGTERM);
  CHECK(p.poll() == -SIGTERM);
  CHECK(p.wait() == -SIGTERM);  // repeated calls return at once
  p.kill();                     // reaped: a no-op, never a signal to a recycled pid
}

TEST_CASE("subprocess: send_signal delivers any signal; exit codes come back",
          "[process][subprocess]") {
  sp::Popen p({"sleep", "10"});
  p.send_signal(SIGUSR1);
  CHECK(p.wait(kBound) == -SIGUSR1);
  sp::Popen q({"sh", "-c", "exit 42"});
  CHECK(q.wait(kBound) == 42);
  sp::Popen r({"sleep", "10"});
  CHECK_THROWS_AS(r.send_signal(12345), std::system_error);
  r.kill();
  CHECK(r.wait(kBound) == -SIGKILL);
}

TEST_CASE("subprocess: a moved-from Popen is a clear error", "[process][subprocess]") {
  sp::Popen p({"true"});
  sp::Popen q(std::move(p));
  CHECK(q.wait(kBound) == 0);
  CHECK_THROWS_AS(p.pid(), std::logic_error);  // NOLINT: testing use after move
}

// ---- run, check_output, errors ----

TEST_CASE("subprocess: run with input", "[process][subprocess]") {
  sp::RunOptions o = capture();
  o.input = "b\na\nc\n";
  auto r = sp::run({"sort"}, o);
  CHECK(r.out == "a\nb\nc\n");
  CHECK(r.returncode == 0);
}

TEST_CASE("subprocess: run timeout kills the child and carries partial output",
          "[process][subprocess]") {
  sp::RunOptions o = capture();
  o.timeout = 300ms;
  const auto start = Clock::now();
  try {
    sp::run({"sh", "-c", "echo begun; exec sleep 30"}, o);
    FAIL("no TimeoutExpired");
  } catch (const sp::TimeoutExpired& e) {
    CHECK(std::string("begun\n").starts_with(e.output));
    CHECK(std::string(e.what()).ends_with("timed out after 0.3 seconds"));
  }
  CHECK(Clock::now() - start < kBound);
  CHECK(no_children_within(kBound));  // killed and reaped before the exception
}

TEST_CASE("subprocess: run check raises CalledProcessError with the output",
          "[process][subprocess]") {
  sp::RunOptions o = capture();
  o.check = true;
  try {
    sp::run({"sh", "-c", "echo o; echo e >&2; exit 2"}, o);
    FAIL("no CalledProcessError");
  } catch (const sp::CalledProcessError& e) {
    CHECK(e.returncode == 2);
    CHECK(e.output == "o\n");
    CHECK(e.errors == "e\n");
    CHECK(std::string(e.what()) ==
          "Command '['sh', '-c', 'echo o; echo e >&2; exit 2']' returned non-zero exit status 2.");
  }
  try {
    sp::run({"sh", "-c", "kill -9 $$"}, o);
    FAIL("no CalledProcessError");
  } catch (const sp::CalledProcessError& e) {
    CHECK(e.returncode == -9);
    CHECK(std::string(e.what()) ==
          "Command '['sh', '-c', 'kill -9 $$']' died with <Signals.SIGKILL: 9>.");
  }
  CHECK(sp::run({"true"}, o).returncode == 0);
}

TEST_CASE("subprocess: check_output and check_returncode", "[process][subprocess]") {
  CHECK(sp::check_output({"echo", "hi"}) == "hi\n");
  CHECK_THROWS_AS(sp::check_output({"false"}), sp::CalledProcessError);
  sp::RunOptions sh;
  sh.shell = true;
  CHECK(sp::check_output(std::string("echo \"it's\""), sh) == "it's\n");
  auto r = sp::run({"false"});
  CHECK(r.returncode == 1);
  try {
    r.check_returncode();
    FAIL("no CalledProcessError");
  } catch (const sp::CalledProcessError& e) {
    CHECK(std::string(e.what()) == "Command '['false']' returned non-zero exit status 1.");
  }
  sp::run({"true"}).check_returncode();
  // Python's repr quoting in messages.
  sp::CalledProcessError e(1, {"it's", "a\\b\n"});
  CHECK(std::string(e.what()) ==
        R"(Command '["it's", 'a\\b\n']' returned non-zero exit status 1.)");
}

// ---- streams ----

TEST_CASE("subprocess: streams: write lines and read them back one at a time",
          "[process][subprocess]") {
  sp::Popen p({"cat"}, pipes(sp::PIPE, sp::PIPE));
  auto& in = p.stdin_stream();
  auto& out = p.stdout_stream();
  for (int i = 0; i < 100; ++i) {
    in.write("line " + std::to_string(i) + "\n");
    CHECK(out.readline(kBound) == "line " + std::to_string(i) + "\n");
  }
  in.write("abcdef");
  CHECK(out.read(3, kBound) == "abc");
  CHECK(out.read_some(100, kBound) == "def");
  in.write("tail without newline");
  in.close();
  CHECK(in.closed());
  CHECK_THROWS_AS(in.write("x"), std::logic_error);
  CHECK(out.readline(kBound) == "tail without newline");
  CHECK(out.readline(kBound).empty());  // EOF
  CHECK(out.at_eof());
  CHECK(out.read().empty());
  CHECK(p.wait(kBound) == 0);
  CHECK_THROWS_AS(p.stderr_stream(), std::logic_error);
}

TEST_CASE("subprocess: streams: read to EOF, timeouts keep data, communicate takes the rest",
          "[process][subprocess]") {
  sp::Popen p({"sh", "-c", "echo one; read x; echo two; echo three"}, pipes(sp::PIPE, sp::PIPE));
  auto& out = p.stdout_stream();
  CHECK(out.readline(kBound) == "one\n");
  CHECK_THROWS_AS(out.read(100ms), braid::TimeoutError);  // the child waits for input
  p.stdin_stream().write("go\n");
  CHECK(out.readline(kBound) == "two\n");
  auto [rest, err] = p.communicate(std::nullopt, kBound);
  CHECK(rest == "three\n");
  CHECK(out.closed());
  CHECK_THROWS_AS(out.read(), std::logic_error);
}

TEST_CASE("subprocess: writing to a child that closed stdin is EPIPE, not SIGPIPE",
          "[process][subprocess]") {
  sp::Popen p({"true"}, pipes(sp::PIPE, sp::INHERIT));
  REQUIRE(p.wait(kBound) == 0);
  try {
    p.stdin_stream().write(std::string(1 << 20, 'x'), kBound);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::broken_pipe);
  }
}

// ---- concurrency, descriptors, zombies ----

TEST_CASE("subprocess: 20 children run in parallel from coroutines while a ticker ticks",
          "[process][subprocess]") {
  int ticks = 0;
  bool stop = false;
  auto ticker = braid::spawn([&] {
    while (!stop) {
      braid::sleep(10ms);
      ++ticks;
    }
  });
  const auto start = Clock::now();
  std::vector<braid::Task<std::string>> kids;
  for (int i = 0; i < 20; ++i) {
    kids.push_back(braid::spawn([i] {
      return sp::run({"sh", "-c", "sleep 0.5; echo $0", std::to_string(i)}, capture()).out;
    }));
  }
  for (int i = 0; i < 20; ++i) CHECK(kids[i].get() == std::to_string(i) + "\n");
  const auto elapsed = Clock::now() - start;
  stop = true;
  REQUIRE(ticker.join(kBound));
  CHECK(elapsed < 5s);  // one after another would take 10 s
  CHECK(ticks >= 10);   // the hub kept running while 20 children slept 0.5 s
  CHECK(no_children_within(kBound));
}

TEST_CASE("subprocess: no descriptors leak, whatever the options and failures",
          "[process][subprocess]") {
  sp::run({"true"}, capture());  // warm up: the hub and its reactor exist now
  const auto before = open_fds();
  for (int i = 0; i < 3; ++i) {
    sp::run({"cat"}, [] {
      sp::RunOptions o = capture();
      o.input = "x";
      return o;
    }());
    sp::Popen p({"sleep", "10"}, pipes(sp::PIPE, sp::PIPE, sp::PIPE));
    p.kill();
    sp::Popen q({"sh", "-c", "echo x; echo y >&2"}, pipes(sp::DEVNULL, sp::PIPE, sp::STDOUT));
    q.communicate();
    sp::Popen r({"cat"}, pipes(sp::PIPE, sp::PIPE));  // destroyed with its pipes open
    CHECK_THROWS(sp::Popen({"braid-no-such-program"}, pipes(sp::PIPE, sp::PIPE, sp::PIPE)));
    sp::Options bad = pipes(sp::PIPE, sp::PIPE, sp::DEVNULL);
    bad.cwd = "/nonexistent";
    CHECK_THROWS(sp::Popen({"true"}, bad));
    auto t = braid::spawn([] { return sp::check_output({"echo", "from a coroutine"}); });
    CHECK(t.get() == "from a coroutine\n");
  }
  CHECK(no_children_within(kBound));
  CHECK(open_fds() == before);
}

TEST_CASE("subprocess: close_fds: only 0, 1, 2 reach the child unless turned off",
          "[process][subprocess]") {
  // An inheritable descriptor (no close-on-exec), numbered high to be recognisable.
  const int leaky = ::fcntl(0, F_DUPFD, 100);
  REQUIRE(leaky >= 100);
  // A Popen with open pipes meanwhile: braid's own descriptors are close-on-exec.
  sp::Popen other({"cat"}, pipes(sp::PIPE, sp::PIPE, sp::PIPE));
  // What ls lists beyond `expected`: at most one, its own handle on the directory.
  const auto extras = [](std::set<int> listed, const std::set<int>& expected) {
    for (int fd : expected) listed.erase(fd);
    return listed.size();
  };

  auto fds = parse_fd_list(sp::check_output({"ls", "-1", "/proc/self/fd"}));
  CHECK(fds.count(leaky) == 0);
  CHECK(extras(fds, {0, 1, 2}) <= 1);

  // Without close_fds the child gets every inheritable descriptor: `leaky`, and whatever
  // this test process itself inherited without close-on-exec (from ctest), but none of
  // braid's.
  std::set<int> inheritable;
  for (int fd : open_fds()) {
    if ((::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) inheritable.insert(fd);
  }
  REQUIRE(inheritable.count(leaky) == 1);
  sp::RunOptions keep;
  keep.close_fds = false;
  fds = parse_fd_list(sp::check_output({"ls", "-1", "/proc/self/fd"}, keep));
  CHECK(fds.count(leaky) == 1);
  inheritable.insert({0, 1, 2});
  CHECK(extras(fds, inheritable) <= 1);
  for (int fd : {other.stdin_stream().fileno(), other.stdout_stream().fileno(),
                 other.stderr_stream().fileno()}) {
    CHECK(fds.count(fd) == 0);
  }
  ::close(leaky);
}

TEST_CASE("subprocess: a destroyed Popen leaves no zombie", "[process][subprocess]") {
  pid_t running, exited;
  {
    sp::Popen p({"sleep", "0.2"});
    running = p.pid();
    sp::Popen q({"true"});
    exited = q.pid();
  }  // neither was waited for
  CHECK(gone_within(running, kBound));
  CHECK(gone_within(exited, kBound));
  CHECK(no_children_within(kBound));
}

TEST_CASE("subprocess: killing a coroutine while it spawns leaves no child behind",
          "[process][subprocess]") {
  bool constructed = false;
  auto keep_busy = braid::spawn([] { braid::sleep(50ms); });  // so the spawn goes to a thread
  auto t = braid::spawn([&] {
    sp::Popen p({"sleep", "30"});  // parks in the thread pool hand-off
    constructed = true;
  });
  // The killer is a coroutine queued right behind t, so it runs as soon as t parks in
  // the hand-off. (Killing from main was racy: main's wait runs the hub loop, which could
  // take the spawn's completion and resume t before main got control back.)
  auto killer = braid::spawn([&] { t.kill(); });
  REQUIRE(killer.join(kBound));
  CHECK(t.ready());
  CHECK_FALSE(constructed);
  keep_busy.join(kBound);
  CHECK(no_children_within(kBound));
}

TEST_CASE("subprocess: with SIGCHLD ignored, wait() reports 255 and says why",
          "[process][subprocess]") {
  // The kernel reaps children itself then: the status is gone (CPython reports 0).
  braid::test::LogCapture log;
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGCHLD, &ignore, &saved) == 0);
  int status = -1;
  pid_t pid = -1;
  try {
    sp::Popen p({"sh", "-c", "exit 3"});
    pid = p.pid();
    status = p.wait(10s);
  } catch (...) {
    ::sigaction(SIGCHLD, &saved, nullptr);
    throw;
  }
  ::sigaction(SIGCHLD, &saved, nullptr);
  CHECK(status == 255);
  CHECK(log.text().find("child " + std::to_string(pid) +
                        " was reaped elsewhere; its exit status is unknown") != std::string::npos);
}
