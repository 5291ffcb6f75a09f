// braid::process::Process: run a function in a forked child process (Python's
// multiprocessing.Process), and wait for it without blocking the hub.
//
// What may switch: join() parks the calling coroutine until the child exits (through a
// pidfd the hub waits on); in main it runs the hub meanwhile. Everything else returns at
// once. sentinel() gives that readiness as a descriptor, for braid::wait_readable or
// braid::net::select over several processes and other descriptors.
#pragma once

#include <braid/process/detail/child_exit.hpp>
#include <braid/runtime/hub.hpp>

#include <sys/types.h>

#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid::process {

namespace detail {
void after_fork_in_child(const std::string& name, bool daemon);
}

/// Options for a Process: its name (default "Process-N") and daemon flag (default: the
/// creating process's own flag, false in the main process).
struct ProcessOptions {
  std::string name;
  std::optional<bool> daemon;
};

/// A child process running `target(args...)`, or the run() of a subclass.
///
/// start() forks. The child gets a fresh hub (the parent's coroutines do not exist in it),
/// runs the target and leaves with `_exit`: status 0, or 1 after logging an uncaught
/// exception through braid's logger. The parent's atexit handlers and static destructors
/// never run in the child; stdout and stderr are flushed before it leaves.
///
/// At the parent's exit, daemon children are terminated (SIGTERM) and every child is
/// joined; daemon children also get PR_SET_PDEATHSIG (SIGKILL) so they die with a parent
/// that crashes. A Process destroyed while its child runs hands the child to the runtime,
/// which reaps it (no zombie) and still joins it at exit when it is not a daemon.
///
/// @par Example
/// @code
///   braid::process::Process p([](int i) { std::printf("child %d\n", i); }, 7);
///   p.start();
///   p.join();                 // parks; p.exitcode() == 0
/// @endcode
class Process {
 public:
  /// For subclasses that override run().
  Process();
  /// Runs `target(args...)` in the child; the arguments are copied into the Process.
  template <class F, class... A>
  requires std::invocable < std::decay_t<F>
  &, std::decay_t<A>&... > explicit Process(F&& target, A&&... args)
      : Process(ProcessOptions{}, std::forward<F>(target), std::forward<A>(args)...) {}
  template <class F, class... A>
  requires std::invocable < std::decay_t<F>
  &, std::decay_t<A>&... > Process(ProcessOptions o, F&& target, A&&... args)
      : Process(std::move(o), 0) {
    target_ = [f = std::forward<F>(target),
               tup = std::make_tuple(std::forward<A>(args)...)]() mutable { std::apply(f, tup); };
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// A child still running is left to the runtime (reaped, joined at exit if not daemon).
  virtual ~Process();

  /// The child's work: calls the target. Override it in a subclass instead.
  virtual void run();

  /// Forks the child. std::logic_error("cannot start a process twice") on a second call;
  /// std::system_error when fork fails.
  void start();
  /// Parks until the child exits (true) or `timeout` elapses (false). std::logic_error
  /// when the process was never started.
  bool join(std::optional<Duration> timeout = {});
  /// True between start() and the child's exit; never parks.
  bool is_alive();
  /// Sends SIGTERM / SIGKILL; nothing when the child is already reaped.
  void terminate();
  void kill();

  /// The child's pid (0 before start); getpid() for current_process().
  pid_t pid() const noexcept;
  /// The exit code once the child has exited: its status, or -N when signal N killed it.
  std::optional<int> exitcode() const;
  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  bool daemon() const noexcept { return daemon_; }
  /// std::logic_error after start().
  void set_daemon(bool daemon);

  /// A descriptor that becomes readable when the process ends (a pidfd, Linux >= 5.3):
  /// wait on it with braid::wait_readable or braid::net::select, never read it. It stays
  /// open, and readable once the child is gone, until close() or the destructor; it stays
  /// the Process's (do not close it). std::logic_error before start(), after close() and
  /// for current_process(); std::system_error(ENOSYS) on a kernel without pidfds.
  int sentinel() const;
  /// Releases what the Process holds (the sentinel, its entry in active_children()).
  /// std::logic_error while the child still runs (join() or terminate() first, as Python's
  /// ValueError). Idempotent. Afterwards every call but name(), daemon(), pid() and close() on it
  /// is std::logic_error("process object is closed").
  void close();

 private:
  friend Process& current_process();
  friend Process* parent_process();
  friend std::vector<Process*> active_children();
  friend void detail::after_fork_in_child(const std::string& name, bool daemon);
  struct SelfTag {};
  struct ParentTag {};

  Process(ProcessOptions o, int);
  Process(SelfTag, std::string name, bool daemon);
  Process(ParentTag, std::string name, pid_t pid);
  [[noreturn]] void run_child(pid_t parent) noexcept;
  void check_not_closed() const;
  bool parent_alive() const;

  std::function<void()> target_;  // empty for subclasses
  std::string name_;
  std::string identity_;  // "3", or "1:3" for a child's third child
  bool daemon_ = false;
  bool started_ = false;
  pid_t pid_ = 0;
  bool is_self_ = false;                             // stands for the calling process itself
  bool is_parent_ = false;                           // parent_process(): a process not ours
  bool closed_ = false;                              // close() ran
  int sentinel_ = -1;                                // pidfd kept until close(); -1 without
  mutable std::optional<detail::ChildWatch> watch_;  // the child, from start() on
};

/// The Process object of the calling process: "MainProcess" in the original process,
/// the child's own Process (name, daemon flag) inside a child.
Process& current_process();
/// In a child: a Process standing for the process that started it (its name, pid,
/// is_alive(), join(timeout), sentinel(); start, terminate, kill and exitcode are not
/// available: std::logic_error / nullopt). nullptr in the main process. Set in children
/// of Process::start() (the Manager's server is one) and in those that call
/// detail::after_fork_in_child (whose parent is getppid() at that call). Never destroyed.
Process* parent_process();
/// Started children of the calling process that are still running (finished ones are
/// reaped first). Pointers to the live Process objects.
std::vector<Process*> active_children();
/// Number of online CPUs (at least 1).
unsigned cpu_count();
/// Name of the calling process: current_process().name().
inline const std::string& current_process_name() { return current_process().name(); }

}  // namespace braid::process
