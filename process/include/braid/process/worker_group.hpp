// WorkerGroup: N pre-forked worker processes, supervised by the parent (gunicorn's
// arbiter): restarted with back-off when they die, stopped gracefully, replaced one by one
// on reload. braid::net::ServerGroup runs a StreamServer in each.
//
// What may switch: start(), stop(), reload() and run() park the calling coroutine (in main
// they run the hub meanwhile); the parent's supervision runs in coroutines of its hub, so
// the parent never blocks. WorkerContext's wait_stop() parks inside a worker.
#pragma once

#include <braid/runtime/hub.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braid::process {

/// How a worker ended, as the parent saw it (WorkerGroupOptions::on_child_exit).
struct WorkerExit {
  unsigned index = 0;     // the worker's slot, 0 .. workers-1
  pid_t pid = 0;          // the process that exited
  int exitcode = 0;       // its status, or -N when signal N killed it
  bool expected = false;  // true when the parent had asked it to stop (stop, reload)
};

struct WorkerGroupOptions {
  /// Worker processes; 0 = cpu_count().
  unsigned workers = 0;
  /// Workers are named "<name>-<index>" (Process::name(), logs).
  std::string name = "worker";
  /// stop()'s grace when it is given none: how long workers may take to finish before
  /// they are killed (gunicorn's graceful_timeout). Also the grace a worker gives itself
  /// when it gets SIGTERM directly, or sees its control socket closed.
  Duration stop_grace = std::chrono::seconds(10);
  /// A worker that has not called WorkerContext::ready() this long after its fork is
  /// killed and counts as a failed start.
  Duration start_timeout = std::chrono::seconds(30);
  /// Delay before restarting a worker that died; doubles for each restart of the same
  /// slot within the last minute, up to max_restart_backoff.
  Duration restart_backoff = std::chrono::milliseconds(100);
  Duration max_restart_backoff = std::chrono::seconds(5);
  /// Restarts allowed within any 60 s across the group; the next death beyond it stops
  /// the whole group with an error (a crash loop does not fork-bomb). 0 = never restart.
  unsigned max_restarts_per_minute = 20;
  /// In the parent, after each worker exit (reaped), expected or not. Exceptions it
  /// throws are logged.
  std::function<void(const WorkerExit&)> on_child_exit;
};

/// What a worker's body gets, in the worker process.
class WorkerContext {
 public:
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;
  ~WorkerContext();

  /// The worker's slot, 0 .. workers-1; a replacement keeps its predecessor's index.
  unsigned index() const noexcept { return index_; }
  /// How many workers held this slot before this one (0 for the first).
  unsigned generation() const noexcept { return generation_; }
  /// Tells the parent this worker is up (e.g. listening). start() and reload() wait for
  /// it (up to start_timeout). Later calls do nothing.
  void ready();
  /// True once the parent asked this worker to stop (or SIGTERM came, or the control
  /// socket was closed).
  bool stop_requested() const noexcept;
  /// Parks until a stop is requested; returns the grace to finish within.
  Duration wait_stop();

  struct State;  // defined in worker_group.cpp

 private:
  friend struct WorkerRun;
  WorkerContext(unsigned index, unsigned generation, int control, Duration default_grace);

  unsigned index_;
  unsigned generation_;
  std::unique_ptr<State> st_;
};

/// N worker processes, each running `body(context)` on a fresh hub, supervised by the
/// calling process. The body's return ends the worker with status 0; an exception ends it
/// with 1 (logged by the worker). The parent:
/// - restarts a worker that dies unasked, after a back-off, keeping its index; more than
///   max_restarts_per_minute restarts within a minute stop the group with an error
///   (failure(), and run() returns 1);
/// - stop(grace): asks every worker to stop (over a control socket, which WorkerContext::
///   wait_stop() reports), waits up to `grace`, kills the rest (SIGKILL) and reaps all;
/// - reload(): replaces the workers one at a time, each new one ready before the old one
///   is asked to stop (a rolling restart);
/// - run(): start(), then SIGTERM or SIGINT stops the group and SIGHUP reloads it, until
///   the group has stopped.
/// Workers ignore SIGINT and SIGHUP (a terminal's Ctrl-C reaches the whole process group;
/// the parent decides) and treat SIGTERM as a stop request with the options' stop_grace.
/// They are daemon Processes (PR_SET_PDEATHSIG): a parent that crashes takes them with it
/// at once, so a dead supervisor leaves no orphan serving with nobody to restart or stop it.
class WorkerGroup {
 public:
  using Body = std::function<void(WorkerContext&)>;

  explicit WorkerGroup(Body body, WorkerGroupOptions opts = {});
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;
  /// Stops the group at once (stop(0s)) if it is running.
  ~WorkerGroup();

  /// Forks every worker and parks until each has called ready().
  /// @throws std::runtime_error  a worker exited, or missed start_timeout, before it was
  ///                             ready (every worker is stopped first); the message names
  ///                             the worker and its exit status.
  /// @throws std::system_error   fork or socketpair failed.
  /// @throws std::logic_error    started twice.
  void start();
  /// start() if needed; then SIGTERM/SIGINT call stop() and SIGHUP calls reload(), until
  /// the group has stopped. Returns 0 after a stop, 1 when the restart cap stopped it.
  int run();
  /// Asks every worker to stop, waits up to `grace` (nullopt: the options' stop_grace)
  /// for them to exit, kills the rest and reaps every worker. Always returns; a second
  /// call waits for the first one's end.
  void stop(std::optional<Duration> grace = {});
  /// Replaces the workers one by one: forks the new worker of a slot, waits until it is
  /// ready, then stops the old one (grace: stop_grace). False, leaving the remaining old
  /// workers in place, when a new worker fails to become ready or the group is stopping;
  /// false too while another reload is running.
  bool reload();

  /// Pids of the ready workers, by index (0 for a slot whose worker is restarting).
  std::vector<pid_t> pids() const;
  unsigned size() const noexcept;
  /// Workers restarted after an unasked death, since start().
  std::uint64_t restarts() const noexcept;
  bool running() const noexcept;
  /// Why the group stopped on its own (the restart cap), if it did.
  std::optional<std::string> failure() const;

  struct State;  // shared with the supervising coroutines

 private:
  std::shared_ptr<State> st_;
};

}  // namespace braid::process
