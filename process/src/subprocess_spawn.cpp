// Spawning child programs with posix_spawn.
//
// Why posix_spawn rather than a hand-written vfork + exec: glibc's version (2.24+) runs
// the child on its own stack with CLONE_VFORK, resets signal handlers in the child before
// it can receive anything, and reports every failure of a file action or of exec as its
// return value through memory it shares with the child. That is the close-on-exec
// error pipe of libuv's process.c without the pipe, and without its one hazard: a
// forked-but-not-exec'd sibling (Process::start on another thread) holding the write end
// open and stalling the parent's read. The file actions give us what Popen needs:
// dup2 for stdio, addchdir_np (glibc 2.29) for cwd and addclosefrom_np (glibc 2.34,
// close_range underneath) for close_fds.
#include "subprocess_spawn.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string_view>
#include <system_error>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace braid::subprocess::detail {
namespace {

constexpr const char* kDefaultPath = "/bin:/usr/bin";  // Python's os.defpath

// Moves `fd` to 3 or above (close-on-exec), so dup2 onto 0, 1 or 2 in the child cannot
// overwrite another stdio source. Returns -1 with errno set on failure.
int above_stdio(int fd) noexcept {
  if (fd < 0 || fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return moved;
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// An executable regular file, as execve would accept it; else the errno execve would give.
int check_executable(const std::string& path) noexcept {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

// execvp's search, done in the parent so that a replaced environment's PATH is the one
// searched (as Python does) and errors are exact: the first executable candidate wins;
// EACCES if only unusable candidates were found, ENOENT if none. Relative PATH entries
// are relative to the child's working directory.
int resolve_program(const SpawnPlan& plan, std::string& out) {
  const std::string& name = plan.argv[0];
  if (name.empty()) return ENOENT;
  if (name.find('/') != std::string::npos) {
    out = name;  // exec'd after chdir, so a relative path is relative to cwd (Python)
    return 0;
  }
  int result = ENOENT;
  const std::string_view path = plan.path_env;
  for (std::size_t start = 0;;) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string_view dir = path.substr(start, end - start);
    std::string candidate = dir.empty() ? name : fmt::format("{}/{}", dir, name);
    const bool relative = candidate[0] != '/';
    const int err =
        check_executable(relative && plan.cwd ? *plan.cwd + "/" + candidate : candidate);
    if (err == 0) {
      out = relative ? "./" + candidate : std::move(candidate);
      return 0;
    }
    if (err == EACCES) result = EACCES;
    if (end == path.size()) break;
    start = end + 1;
  }
  return result;
}

// Why the working directory is unusable (errno), or 0.
int check_cwd(const std::string& cwd) noexcept {
  struct stat st {};
  if (::stat(cwd.c_str(), &st) != 0) return errno;
  if (!S_ISDIR(st.st_mode)) return ENOTDIR;
  if (::access(cwd.c_str(), X_OK) != 0) return errno;
  return 0;
}

// posix_spawn's attribute and file-action objects, destroyed on scope exit.
struct SpawnAttrs {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnAttrs() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
  }
  ~SpawnAttrs() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;
};

// Fills in the file actions and attributes; returns an errno (ENOMEM) or 0.
int prepare(const SpawnPlan& plan, SpawnAttrs& a) noexcept {
  int e = 0;
  for (int target = 0; target < 3 && e == 0; ++target) {
    if (plan.stdio[target] >= 0) {
      e = ::posix_spawn_file_actions_adddup2(&a.actions, plan.stdio[target], target);
    }
  }
  if (e == 0 && plan.err_to_out) e = ::posix_spawn_file_actions_adddup2(&a.actions, 1, 2);
  if (e == 0 && plan.cwd) e = ::posix_spawn_file_actions_addchdir_np(&a.actions, plan.cwd->c_str());
  if (e == 0 && plan.close_fds) e = ::posix_spawn_file_actions_addclosefrom_np(&a.actions, 3);
  if (e != 0) return e;
  // The child starts with no signal blocked (the spawning thread's mask is braid's
  // business, not the program's), and with SIGPIPE back to the default: the hub ignores
  // it, and an ignored disposition survives exec (Python's restore_signals does the same).
  sigset_t none, defaults;
  ::sigemptyset(&none);
  ::sigemptyset(&defaults);
  ::sigaddset(&defaults, SIGPIPE);
  ::sigaddset(&defaults, SIGXFSZ);
  ::posix_spawnattr_setsigmask(&a.attr, &none);
  ::posix_spawnattr_setsigdefault(&a.attr, &defaults);
  return ::posix_spawnattr_setflags(&a.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void UniqueFd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StdioPipe make_stdio_pipe(bool child_reads, const char* stream) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(fmt::format("pipe for the child's {}", stream));
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  StdioPipe p;
  p.parent = child_reads ? std::move(write_end) : std::move(read_end);
  p.child = child_reads ? std::move(read_end) : std::move(write_end);
  const int flags = ::fcntl(p.parent.get(), F_GETFL);
  if (flags < 0 || ::fcntl(p.parent.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_errno(fmt::format("pipe for the child's {}: O_NONBLOCK", stream));
  }
  p.child = UniqueFd(above_stdio(p.child.release()));
  if (!p.child) throw_errno(fmt::format("pipe for the child's {}", stream));
  return p;
}

UniqueFd open_devnull() {
  UniqueFd fd(above_stdio(::open("/dev/null", O_RDWR | O_CLOEXEC)));
  if (!fd) throw_errno("open /dev/null");
  return fd;
}

SpawnPlan make_plan(const std::vector<std::string>& args, const Options& o) {
  if (args.empty()) throw std::invalid_argument("Popen: args is empty");
  SpawnPlan plan;
  if (o.shell) plan.argv = {"/bin/sh", "-c"};
  plan.argv.insert(plan.argv.end(), args.begin(), args.end());
  for (const auto& a : plan.argv) {
    if (a.find('\0') != std::string::npos) {
      throw std::invalid_argument("Popen: embedded null byte in an argument");
    }
  }
  plan.cwd = o.cwd;
  const char* path = nullptr;
  if (o.env) {
    plan.env.emplace();
    plan.env->reserve(o.env->size());
    for (const auto& [k, v] : *o.env) {
      if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos ||
          v.find('\0') != std::string::npos) {
        throw std::invalid_argument(fmt::format("Popen: illegal environment variable '{}'", k));
      }
      plan.env->push_back(k + "=" + v);
      if (k == "PATH") path = v.c_str();
    }
  } else {
    path = std::getenv("PATH");
  }
  plan.path_env = path != nullptr ? path : kDefaultPath;
  plan.close_fds = o.close_fds;
  return plan;
}

SpawnOutcome spawn_program(const SpawnPlan& plan) noexcept {
  SpawnOutcome r;
  try {
    std::string program;
    r.error = resolve_program(plan, program);
    if (r.error == 0) {
      SpawnAttrs attrs;
      r.error = prepare(plan, attrs);
      if (r.error == 0) {
        std::vector<char*> argv, envp;
        argv.reserve(plan.argv.size() + 1);
        for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        if (plan.env) {
          envp.reserve(plan.env->size() + 1);
          for (const auto& e : *plan.env) envp.push_back(const_cast<char*>(e.c_str()));
          envp.push_back(nullptr);
        }
        pid_t pid = -1;
        r.error = ::posix_spawn(&pid, program.c_str(), &attrs.actions, &attrs.attr, argv.data(),
                                plan.env ? envp.data() : environ);
        if (r.error == 0) r.pid = pid;
      }
    }
  } catch (const std::bad_alloc&) {
    r.error = ENOMEM;
  }
  // The child changes directory before it execs, so a bad cwd is the first thing to fail
  // (and posix_spawn's errno alone cannot say which step failed).
  if (r.pid < 0 && plan.cwd) {
    if (const int e = check_cwd(*plan.cwd); e != 0) {
      r.error = e;
      r.cwd_failed = true;
    }
  }
  return r;
}

void throw_spawn_error(const SpawnPlan& plan, const SpawnOutcome& r) {
  const std::string& program = plan.argv[0];
  if (r.cwd_failed) {
    throw std::system_error(r.error, std::generic_category(),
                            fmt::format("spawn '{}': chdir '{}'", program, *plan.cwd));
  }
  throw std::system_error(r.error, std::generic_category(), fmt::format("spawn '{}'", program));
}

}  // namespace braid::subprocess::detail
