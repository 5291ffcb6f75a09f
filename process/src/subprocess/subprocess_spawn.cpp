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

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
  const std::string& name = plan.program;
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

// Turns a close_range action into file actions. posix_spawn can close "from n on"
// (addclosefrom_np) but not a bounded range, so a gap below a pass_fds entry is closed
// number by number: exact, and cheap while the gap is small (it usually is: 3..k). A
// huge gap closes only what is open now (from /proc/self/fd), which is all a
// close-on-exec-everywhere process needs; the vfork path closes ranges exactly.
int add_close_range(posix_spawn_file_actions_t& actions, int first, int last) noexcept {
  if (last < 0) return ::posix_spawn_file_actions_addclosefrom_np(&actions, first);
  constexpr int kPerFdLimit = 4096;
  if (last - first < kPerFdLimit) {
    for (int fd = first; fd <= last; ++fd) {
      if (const int e = ::posix_spawn_file_actions_addclose(&actions, fd); e != 0) return e;
    }
    return 0;
  }
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return errno;
  int e = 0;
  const int own = ::dirfd(d);
  while (dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd >= first && fd <= last && fd != own) {
      if ((e = ::posix_spawn_file_actions_addclose(&actions, fd)) != 0) break;
    }
  }
  ::closedir(d);
  return e;
}

// Fills in the file actions and attributes; returns an errno (ENOMEM) or 0.
int prepare(const SpawnPlan& plan, SpawnAttrs& a) noexcept {
  int e = 0;
  try {
    for (const FdAction& act : fd_actions(plan)) {
      switch (act.kind) {
        case FdAction::dup2:
          e = ::posix_spawn_file_actions_adddup2(&a.actions, act.fd, act.target);
          break;
        case FdAction::keep:  // glibc (2.29+, Austin Group #411): dup2 onto itself clears
                              // close-on-exec
          e = ::posix_spawn_file_actions_adddup2(&a.actions, act.fd, act.fd);
          break;
        case FdAction::close_range:
          e = add_close_range(a.actions, act.fd, act.target);
          break;
      }
      if (e != 0) return e;
    }
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
  if (plan.cwd) e = ::posix_spawn_file_actions_addchdir_np(&a.actions, plan.cwd->c_str());
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
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (plan.new_session) flags |= POSIX_SPAWN_SETSID;
  if (plan.process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    ::posix_spawnattr_setpgroup(&a.attr, *plan.process_group);
  }
  return ::posix_spawnattr_setflags(&a.attr, flags);
}

}  // namespace

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
  // Python: with shell, `executable` replaces /bin/sh in argv too; without, only the
  // program run changes and args[0] stays the child's argv[0].
  if (o.executable && o.shell) plan.argv[0] = *o.executable;
  plan.program = o.executable ? *o.executable : plan.argv[0];
  if (plan.program.find('\0') != std::string::npos) {
    throw std::invalid_argument("Popen: embedded null byte in executable");
  }
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
  plan.pass_fds = o.pass_fds;
  std::sort(plan.pass_fds.begin(), plan.pass_fds.end());
  plan.pass_fds.erase(std::unique(plan.pass_fds.begin(), plan.pass_fds.end()), plan.pass_fds.end());
  for (const int fd : plan.pass_fds) {
    if (fd < 0) throw std::invalid_argument(fmt::format("Popen: pass_fds: bad descriptor {}", fd));
    // Checked here, so the error names the descriptor rather than "spawn 'prog': EBADF".
    if (::fcntl(fd, F_GETFD) < 0) throw_errno(fmt::format("Popen: pass_fds: descriptor {}", fd));
  }
  plan.new_session = o.start_new_session;
  plan.process_group = o.process_group;
  if (o.process_group && *o.process_group < 0) {
    throw std::invalid_argument(
        fmt::format("Popen: process_group {} is negative", *o.process_group));
  }
  plan.umask = o.umask;
  resolve_credentials(o, plan);
  return plan;
}

SpawnOutcome spawn_program(const SpawnPlan& plan) noexcept {
  SpawnOutcome r;
  try {
    std::string program;
    r.error = resolve_program(plan, program);
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
      char* const* env = plan.env ? envp.data() : environ;
      if (plan.needs_vfork()) return spawn_vfork(plan, program, argv.data(), env);
      SpawnAttrs attrs;
      r.error = prepare(plan, attrs);
      if (r.error == 0) {
        pid_t pid = -1;
        r.error =
            ::posix_spawn(&pid, program.c_str(), &attrs.actions, &attrs.attr, argv.data(), env);
        if (r.error == 0) r.pid = pid;
      }
    }
  } catch (const std::bad_alloc&) {
    r.error = ENOMEM;
  }
  // posix_spawn's errno alone cannot say which step failed. setpgid comes first, and
  // joining a group that is not there (or in another session) is its EPERM, which exec
  // itself hardly ever gives.
  if (r.pid < 0 && r.error == EPERM && plan.process_group.value_or(0) != 0) {
    r.step = SpawnStep::session;
  }
  // The child changes directory before it execs, so a bad cwd is the first thing to fail.
  if (r.pid < 0 && plan.cwd) {
    if (const int e = check_cwd(*plan.cwd); e != 0) {
      r.error = e;
      r.step = SpawnStep::chdir;
    }
  }
  return r;
}

std::vector<FdAction> fd_actions(const SpawnPlan& plan) {
  std::vector<FdAction> out;
  for (int target = 0; target < 3; ++target) {
    if (plan.stdio[target] >= 0) out.push_back({FdAction::dup2, plan.stdio[target], target});
  }
  if (plan.err_to_out) out.push_back({FdAction::dup2, 1, 2});
  if (plan.close_fds) {
    int first = 3;
    for (const int fd : plan.pass_fds) {
      if (fd < first) continue;  // 0..2 are never closed
      if (fd > first) out.push_back({FdAction::close_range, first, fd - 1});
      first = fd + 1;
    }
    out.push_back({FdAction::close_range, first, -1});
  }
  for (const int fd : plan.pass_fds) {
    if (fd > 2) out.push_back({FdAction::keep, fd, fd});
  }
  return out;
}

void throw_spawn_error(const SpawnPlan& plan, const SpawnOutcome& r) {
  const std::string& program = plan.program;
  std::string step;
  switch (r.step) {
    case SpawnStep::exec:
      break;
    case SpawnStep::chdir:
      step = fmt::format(": chdir '{}'", *plan.cwd);
      break;
    case SpawnStep::setgroups:
      step = ": setgroups";
      break;
    case SpawnStep::setgid:
      step = fmt::format(": setgid {}", plan.gid.value_or(0));
      break;
    case SpawnStep::setuid:
      step = fmt::format(": setuid {}", plan.uid.value_or(0));
      break;
    case SpawnStep::session:
      step = plan.new_session ? ": setsid"
                              : fmt::format(": setpgid {}", plan.process_group.value_or(0));
      break;
    case SpawnStep::descriptors:
      step = ": setting up descriptors";
      break;
  }
  throw std::system_error(r.error, std::generic_category(),
                          fmt::format("spawn '{}'{}", program, step));
}

}  // namespace braid::subprocess::detail
