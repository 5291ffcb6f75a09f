#include "process_registry.hpp"

#include <braid/process/detail/process_state.hpp>
#include <braid/process/process.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace braid::process::detail::registry {
namespace {

namespace sys = braid::detail::sys;

struct Orphan {
  pid_t pid;
  int pidfd;  // -1 without pidfd support
  bool daemon;
};

struct State {
  std::mutex mutex;
  Process* current = nullptr;      // null in the main process
  std::string identity;            // see identity()
  unsigned counter = 0;            // children named so far
  std::vector<Process*> children;  // started, object alive
  std::vector<Orphan> orphans;     // object destroyed while the child ran
  pid_t exit_handler_pid = 0;      // the process whose atexit handler is ours
  pid_t parent_pid = 0;            // 0 in the main process
  std::string parent_name;
  Process* parent = nullptr;  // parent_process(), made on first use
};

// Replaced (never destroyed) in a forked child: another thread of the parent may have
// held the mutex at the moment of the fork.
State* g = new State();

void signal_orphan(const Orphan& o, int sig) noexcept {
#if defined(SYS_pidfd_send_signal)
  if (o.pidfd >= 0) {
    ::syscall(SYS_pidfd_send_signal, o.pidfd, sig, nullptr, 0);
    return;
  }
#endif
  ::kill(o.pid, sig);
}

bool orphan_exited(const Orphan& o) noexcept {
  if (o.pidfd >= 0) {
    pollfd p{o.pidfd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  return ::kill(o.pid, 0) < 0 && errno == ESRCH;
}

void sleep_ms(long ms) noexcept {
  timespec ts{0, ms * 1000000L};
  ::nanosleep(&ts, nullptr);
}

// Blocks the thread until the orphan has exited, and reaps it unless the background
// reaper already has: this process may _exit before the reaper thread gets to it, and a
// zombie handed to an init that does not reap (in some containers) would linger.
void wait_orphan(const Orphan& o) noexcept {
  if (o.pidfd >= 0) {
    pollfd p{o.pidfd, POLLIN, 0};
    (void)sys::poll(&p, 1, -1);
  }
  for (;;) {
    const pid_t r = sys::waitpid(o.pid, nullptr, o.pidfd >= 0 ? 0 : WNOHANG);
    if (r == o.pid || r < 0) return;  // reaped here, or already (ECHILD)
    sleep_ms(5);
  }
}

// Blocks the thread until the child of `p` has exited, and reaps it.
void wait_child(Process& p) noexcept {
  try {
    const braid::detail::UniqueFd fd(open_pidfd(p.pid()));
    if (fd) {
      pollfd pf{fd.get(), POLLIN, 0};
      (void)sys::poll(&pf, 1, -1);
    }
    while (!p.exitcode()) sleep_ms(2);
  } catch (...) {
  }
}

void drop_finished_orphans_locked() {
  std::erase_if(g->orphans, [](const Orphan& o) {
    if (!orphan_exited(o)) return false;
    if (o.pidfd >= 0) ::close(o.pidfd);
    return true;
  });
}

void on_exit() noexcept {
  if (::getpid() != g->exit_handler_pid) return;  // a child that called exit()
  finish_children();
}

}  // namespace

unsigned next_child_number() {
  std::lock_guard lock(g->mutex);
  return ++g->counter;
}

const std::string& identity() { return g->identity; }

void prepare_start() {
  std::lock_guard lock(g->mutex);
  drop_finished_orphans_locked();
  if (g->exit_handler_pid != ::getpid()) {
    g->exit_handler_pid = ::getpid();
    std::atexit(on_exit);
  }
}

void add(Process& p) {
  std::lock_guard lock(g->mutex);
  g->children.push_back(&p);
}

void forget(Process& p, pid_t running_pid, bool daemon) {
  std::lock_guard lock(g->mutex);
  std::erase(g->children, &p);
  drop_finished_orphans_locked();
  if (running_pid > 0) g->orphans.push_back({running_pid, open_pidfd(running_pid), daemon});
}

std::vector<Process*> children() {
  std::lock_guard lock(g->mutex);
  return g->children;
}

Process* current() { return g->current; }

void become_child(Process* self, const std::string& identity, pid_t parent_pid,
                  const std::string& parent_name) {
  for (const Orphan& o : g->orphans) {
    if (o.pidfd >= 0) ::close(o.pidfd);  // the parent's children, not ours
  }
  // The parent's own parent_process() object (and its sentinel) is not ours either; it
  // is leaked like the rest of the parent's State.
  g = new State();
  g->current = self;
  g->identity = identity;
  g->parent_pid = parent_pid;
  g->parent_name = parent_name;
}

pid_t parent_pid() { return g->parent_pid; }
const std::string& parent_name() { return g->parent_name; }
Process* parent_process() { return g->parent; }
void set_parent_process(Process* p) { g->parent = p; }

int open_pidfd(pid_t pid) noexcept {
#if defined(SYS_pidfd_open)
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace braid::process::detail::registry

namespace braid::process::detail {

void finish_children() noexcept {
  std::vector<Process*> kids;
  std::vector<registry::Orphan> orphans;
  {
    std::lock_guard lock(registry::g->mutex);
    kids = registry::g->children;
    orphans.swap(registry::g->orphans);
  }
  // As Python's exit handler: terminate daemon children, then join every child.
  for (Process* p : kids) {
    if (p->daemon() && p->is_alive()) p->terminate();
  }
  for (const auto& o : orphans) {
    if (o.daemon) registry::signal_orphan(o, SIGTERM);
  }
  for (Process* p : kids) registry::wait_child(*p);
  for (const auto& o : orphans) {
    registry::wait_orphan(o);
    if (o.pidfd >= 0) ::close(o.pidfd);
  }
}

}  // namespace braid::process::detail
