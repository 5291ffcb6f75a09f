// The vfork path of Popen: what posix_spawn has no attribute for (umask, user, group).
//
// Why vfork and raw system calls, rather than fork: fork copies the page tables of the
// whole process (slow for a big server) and posix_spawn already relies on CLONE_VFORK
// semantics, which this keeps: the calling thread is suspended until the child has
// exec'd or died, and the child reports a failure by writing to the parent's memory,
// which it shares. The child runs on the parent's stack and must touch nothing the
// parent relies on: every step below is a system call on data prepared before vfork.
// setgroups / setresgid / setresuid go through syscall() directly because glibc's
// wrappers broadcast the change to every thread of the process (POSIX setxid
// semantics), and in a vfork child those threads are the parent's. CPython's
// _posixsubprocess takes the same care (and forks instead of vforking when it must
// change ids; we can vfork because we avoid the wrappers).
//
// Signals: the parent blocks all of them around vfork, so no handler of the parent's
// can run on the shared stack in the child; the child then resets every caught signal
// to its default (the handlers are copies: vfork does not share them) and SIGPIPE and
// SIGXFSZ too (the hub ignores SIGPIPE), and unblocks everything before exec.
#include <braid/runtime/detail/sys.hpp>

#include "subprocess/subprocess_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>
#include <cerrno>
#include <new>

namespace braid::subprocess::detail {
namespace {

// What the child reports; written by the child in the parent's memory.
struct ChildReport {
  int error = 0;
  SpawnStep step = SpawnStep::exec;
};

// All the child needs, prepared in the parent (nothing is allocated after vfork).
struct ChildPlan {
  const SpawnPlan* plan;
  const FdAction* actions;
  std::size_t nactions;
  int open_max;  // close_range's fallback upper bound
  const char* program;
  char* const* argv;
  char* const* envp;
  volatile ChildReport* report;
};

[[noreturn]] void fail(const ChildPlan& c, SpawnStep step) {
  c.report->error = errno;
  c.report->step = step;
  ::_exit(127);
}

bool close_range(int first, int last, int open_max) {
  const unsigned hi = last < 0 ? ~0u : static_cast<unsigned>(last);
  if (::syscall(SYS_close_range, static_cast<unsigned>(first), hi, 0u) == 0) return true;
  if (errno != ENOSYS) return false;
  const int end = last < 0 ? open_max - 1 : last;  // kernels before 5.9
  for (int fd = first; fd <= end; ++fd) ::close(fd);
  return true;
}

[[noreturn]] void child(const ChildPlan& c) {
  const SpawnPlan& p = *c.plan;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa {};
    if (::sigaction(sig, nullptr, &sa) != 0) continue;  // SIGKILL, glibc's own, ...
    const bool reset_anyway = sig == SIGPIPE || sig == SIGXFSZ;
    if (sa.sa_handler != SIG_DFL && (sa.sa_handler != SIG_IGN || reset_anyway)) {
      sa.sa_handler = SIG_DFL;
      sa.sa_flags = 0;
      ::sigaction(sig, &sa, nullptr);
    }
  }
  for (std::size_t i = 0; i < c.nactions; ++i) {
    const FdAction& a = c.actions[i];
    bool ok = true;
    switch (a.kind) {
      case FdAction::dup2:
        ok = ::dup2(a.fd, a.target) >= 0;
        break;
      case FdAction::keep: {
        const int flags = ::fcntl(a.fd, F_GETFD);
        ok = flags >= 0 && ::fcntl(a.fd, F_SETFD, flags & ~FD_CLOEXEC) == 0;
        break;
      }
      case FdAction::close_range:
        ok = close_range(a.fd, a.target, c.open_max);
        break;
    }
    if (!ok) fail(c, SpawnStep::descriptors);
  }
  if (p.cwd && ::chdir(p.cwd->c_str()) != 0) fail(c, SpawnStep::chdir);
  if (p.umask) ::umask(*p.umask);
  if (p.new_session && ::setsid() < 0) fail(c, SpawnStep::session);
  if (p.process_group && ::setpgid(0, *p.process_group) != 0) fail(c, SpawnStep::session);
  if (p.groups && ::syscall(SYS_setgroups, p.groups->size(), p.groups->data()) != 0) {
    fail(c, SpawnStep::setgroups);
  }
  if (p.gid && ::syscall(SYS_setresgid, *p.gid, *p.gid, *p.gid) != 0) fail(c, SpawnStep::setgid);
  if (p.uid && ::syscall(SYS_setresuid, *p.uid, *p.uid, *p.uid) != 0) fail(c, SpawnStep::setuid);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(c.program, c.argv, c.envp);
  fail(c, SpawnStep::exec);
}

// vfork in a function of its own that returns only in the parent; the child never
// returns from it (child() ends in exec or _exit).
__attribute__((noinline)) pid_t vfork_child(const ChildPlan& c) {
  const pid_t pid = ::vfork();
  if (pid == 0) child(c);
  return pid;
}

}  // namespace

SpawnOutcome spawn_vfork(const SpawnPlan& plan, const std::string& program, char* const* argv,
                         char* const* envp) noexcept {
  SpawnOutcome r;
  std::vector<FdAction> actions;
  try {
    actions = fd_actions(plan);
  } catch (const std::bad_alloc&) {
    r.error = ENOMEM;
    return r;
  }
  rlimit lim{};
  const int open_max = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                           ? static_cast<int>(lim.rlim_cur)
                           : 65536;
  volatile ChildReport report;
  const ChildPlan c{&plan,           actions.data(), actions.size(), open_max,
                    program.c_str(), argv,           envp,           &report};
  sigset_t all, saved;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = vfork_child(c);
  const int vfork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) {
    r.error = vfork_errno;
    return r;
  }
  if (report.error != 0) {
    // The child has already _exit'ed (vfork resumed us): reap it now.
    (void)braid::detail::sys::waitpid(pid, nullptr, 0);
    r.error = report.error;
    r.step = report.step;
    return r;
  }
  r.pid = pid;
  return r;
}

}  // namespace braid::subprocess::detail
