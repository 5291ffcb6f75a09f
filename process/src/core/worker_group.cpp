#include <braid/process/worker_group.hpp>

#include <braid/coro/event.hpp>
#include <braid/coro/signal.hpp>
#include <braid/coro/task.hpp>
#include <braid/process/process.hpp>
#include <braid/runtime/detail/clock.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/log.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace braid::process {

namespace {
using braid::detail::Clock;
using namespace std::chrono_literals;

// After SIGKILL a worker is gone within this; a worker still unreaped then is logged.
constexpr Duration kKillReapBound = 5s;
constexpr auto kRestartWindow = std::chrono::minutes(1);

// The control socket between the parent and a worker carries two messages: the worker's
// ready byte, and the parent's stop request (the grace in milliseconds, 8 bytes). Either
// side's end of file means the other process is gone.
constexpr char kReadyByte = 'R';

std::int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string describe_exit(int code) {
  if (code >= 0) return fmt::format("exit status {}", code);
  const char* name = ::sigabbrev_np(-code);
  return fmt::format("killed by signal {} (SIG{})", -code, name != nullptr ? name : "?");
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) (void)::close(fd);
  fd = -1;
}

bool write_all(int fd, const void* buf, std::size_t n) noexcept {
  // 8 bytes into an idle socket never split
  return braid::detail::sys::send(fd, buf, n, MSG_NOSIGNAL) == static_cast<ssize_t>(n);
}

Duration remaining(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  return left > Duration::zero() ? std::chrono::duration_cast<Duration>(left) : Duration::zero();
}

// One worker process, as the parent sees it.
struct Worker {
  unsigned index = 0;
  unsigned generation = 0;
  std::unique_ptr<Process> proc;
  int control = -1;  // the parent's end of the control socket
  ino_t control_inode = 0;
  bool retiring = false;  // asked to stop: its exit is expected
  bool ready = false;
  Event start_done;  // start_worker no longer reads `control`
  Event exited;      // reaped, and on_child_exit has run
  std::optional<int> exitcode;
};
using WorkerPtr = std::shared_ptr<Worker>;
}  // namespace

struct WorkerGroup::State {
  Body body;
  WorkerGroupOptions opts;
  unsigned size = 0;
  std::vector<WorkerPtr> slots;       // the serving worker per index (null: restarting)
  std::vector<WorkerPtr> live;        // every worker not reaped yet
  std::vector<int> control_fds;       // parent ends of the control sockets (children close them)
  std::vector<ino_t> control_inodes;  // their sockets' inodes (for duplicates)
  std::vector<unsigned> generations;  // the next generation per index
  std::deque<Clock::time_point> restart_times;               // group-wide, last minute
  std::vector<std::deque<Clock::time_point>> slot_restarts;  // per index, last minute
  std::uint64_t restarts = 0;
  bool started = false;
  bool initial_start = false;  // start() is running: deaths are start failures
  bool stopping = false;
  bool reloading = false;
  Event stop_requested;      // wakes restart back-offs
  Event done;                // stop finished
  std::size_t watchers = 0;  // watch_worker coroutines still running
  Event watchers_idle;       // set while `watchers` is 0
  std::optional<std::string> failure;

  std::string worker_name(const Worker& w) const {
    return fmt::format("worker {} (pid {})", w.index, w.proc ? w.proc->pid() : 0);
  }
};

// ---- the worker side ---------------------------------------------------------------

struct WorkerContext::State {
  int control = -1;
  Duration default_grace{};
  bool ready_sent = false;
  bool stop = false;
  Duration grace{};
  Event stopped;

  void request_stop(Duration g) noexcept {
    if (stop) return;
    stop = true;
    grace = g;
    stopped.set();
  }
};

WorkerContext::WorkerContext(unsigned index, unsigned generation, int control,
                             Duration default_grace)
    : index_(index), generation_(generation), st_(std::make_unique<State>()) {
  st_->control = control;
  st_->default_grace = default_grace;
}

WorkerContext::~WorkerContext() { close_fd(st_->control); }

void WorkerContext::ready() {
  if (st_->ready_sent) return;
  st_->ready_sent = true;
  // A parent already gone is seen by the control listener (end of file).
  (void)write_all(st_->control, &kReadyByte, 1);
}

bool WorkerContext::stop_requested() const noexcept { return st_->stop; }

Duration WorkerContext::wait_stop() {
  st_->stopped.wait();
  return st_->grace;
}

namespace {
// The parent's ends of the control sockets came along with the fork, and so may have
// duplicates of them (the hub registers a duplicate of a descriptor a coroutine waits
// on). A worker holding one would keep that worker's socket open after the parent's
// death, hiding it. They are found by identity (the socket's inode), not by number.
void close_parent_ends(const WorkerGroup::State& group, int control) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    for (const int fd : group.control_fds) (void)::close(fd);
    return;
  }
  std::vector<int> doomed;
  const int listing = ::dirfd(dir);
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == listing || fd == control) continue;
    struct stat sb {};
    if (::fstat(static_cast<int>(fd), &sb) != 0 || !S_ISSOCK(sb.st_mode)) continue;
    if (std::find(group.control_inodes.begin(), group.control_inodes.end(), sb.st_ino) !=
        group.control_inodes.end()) {
      doomed.push_back(static_cast<int>(fd));
    }
  }
  ::closedir(dir);
  for (const int fd : doomed) (void)::close(fd);
}
}  // namespace

// Runs in the forked worker: closes what belongs to the parent, arms the stop sources
// (control socket, SIGTERM), then runs the body.
struct WorkerRun {
  static void run(const WorkerGroup::State& group, unsigned index, unsigned generation,
                  int control) {
    // Every parent end of a control socket, ours included, came along with the fork.
    close_parent_ends(group, control);
    (void)::signal(SIGINT, SIG_IGN);
    (void)::signal(SIGHUP, SIG_IGN);
    const int flags = ::fcntl(control, F_GETFL);
    if (flags >= 0) (void)::fcntl(control, F_SETFL, flags | O_NONBLOCK);

    WorkerContext ctx(index, generation, control, group.opts.stop_grace);
    WorkerContext::State* st = ctx.st_.get();
    SignalHandler on_term = signal_handler(SIGTERM, [st] { st->request_stop(st->default_grace); });
    auto listener = spawn(SpawnOptions{"worker control", 0}, [st] { listen_control(*st); });
    try {
      group.body(ctx);
    } catch (...) {
      on_term.cancel();
      listener.kill();
      throw;
    }
    on_term.cancel();
    listener.kill();
  }

  static void listen_control(WorkerContext::State& st) {
    for (;;) {
      wait_readable(st.control);
      std::int64_t ms = 0;
      const ssize_t n = braid::detail::sys::read(st.control, &ms, sizeof ms);
      if (n == static_cast<ssize_t>(sizeof ms)) {
        st.request_stop(std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)));
        continue;
      }
      if (n < 0 && errno == EAGAIN) continue;
      // End of file (or a broken socket): the parent closed its end without a stop request
      // (its death kills us outright: PR_SET_PDEATHSIG). Finish as for SIGTERM.
      if (!st.stop) {
        braid::detail::log().warn("worker: the control socket closed; stopping");
      }
      st.request_stop(st.default_grace);
      return;
    }
  }
};

// ---- the parent side ---------------------------------------------------------------

namespace {
using GroupPtr = std::shared_ptr<WorkerGroup::State>;

void watch_worker(const GroupPtr& st, const WorkerPtr& w);

void send_stop(const WorkerPtr& w, Duration grace) {
  const std::int64_t ms = to_ms(grace);
  if (w->control < 0 || !write_all(w->control, &ms, sizeof ms)) w->proc->terminate();
}

// Forks the worker for `index` and parks until it is ready, dies, or misses the start
// timeout (then it is killed). `install` puts it in its slot at once (a start or a
// restart); reload installs its new workers itself, once ready.
bool start_worker(const GroupPtr& st, unsigned index, bool install, WorkerPtr* out = nullptr) {
  if (st->stopping) return false;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("socketpair for {} {}", st->opts.name, index));
  }
  auto w = std::make_shared<Worker>();
  w->index = index;
  w->generation = st->generations[index]++;
  w->control = fds[0];
  const int child_end = fds[1];
  ProcessOptions po{fmt::format("{}-{}", st->opts.name, index), true};
  w->proc = std::make_unique<Process>(
      std::move(po), [group = st.get(), index, generation = w->generation, child_end] {
        WorkerRun::run(*group, index, generation, child_end);
      });
  struct stat sb {};
  (void)::fstat(fds[0], &sb);
  w->control_inode = sb.st_ino;
  st->control_fds.push_back(fds[0]);
  st->control_inodes.push_back(sb.st_ino);
  try {
    w->proc->start();
  } catch (...) {
    st->control_fds.pop_back();
    st->control_inodes.pop_back();
    (void)::close(fds[0]);
    (void)::close(fds[1]);
    throw;
  }
  (void)::close(child_end);
  st->live.push_back(w);
  if (install) st->slots[index] = w;
  if (out != nullptr) *out = w;
  ++st->watchers;
  st->watchers_idle.clear();
  spawn(SpawnOptions{fmt::format("{}-{} watcher", st->opts.name, index), 0}, [st, w] {
    struct Count {
      WorkerGroup::State& st;
      ~Count() {
        if (--st.watchers == 0) st.watchers_idle.set();
      }
    } count{*st};
    watch_worker(st, w);
  });

  struct Done {
    Worker& w;
    ~Done() { w.start_done.set(); }
  } done{*w};
  try {
    wait_readable(w->control, st->opts.start_timeout);
    char byte = 0;
    w->ready = braid::detail::sys::read(w->control, &byte, 1) == 1;
  } catch (const TimeoutError&) {
    braid::detail::log().error("{}: {} was not ready within {} ms: killing it", st->opts.name,
                               st->worker_name(*w), to_ms(st->opts.start_timeout));
    w->proc->kill();
  }
  return w->ready;
}

void fail_group(const GroupPtr& st, std::string why);
void stop_group(const GroupPtr& st, Duration grace);

Duration restart_delay(const GroupPtr& st, unsigned index, Clock::time_point now) {
  auto& times = st->slot_restarts[index];
  while (!times.empty() && now - times.front() > kRestartWindow) times.pop_front();
  times.push_back(now);
  Duration delay = st->opts.restart_backoff;
  for (std::size_t i = 1; i < times.size() && delay < st->opts.max_restart_backoff; ++i) {
    delay *= 2;
  }
  return std::min(delay, st->opts.max_restart_backoff);
}

// A worker died unasked: start another in its slot after the back-off, within the cap.
void restart_slot(const GroupPtr& st, const Worker& dead) {
  const auto now = Clock::now();
  while (!st->restart_times.empty() && now - st->restart_times.front() > kRestartWindow) {
    st->restart_times.pop_front();
  }
  const unsigned cap = st->opts.max_restarts_per_minute;
  if (st->restart_times.size() >= cap) {
    fail_group(st, fmt::format("{}: {} died ({}) after {} restart(s) within a minute, the cap "
                               "(max_restarts_per_minute = {}): stopping every worker",
                               st->opts.name, st->worker_name(dead), describe_exit(*dead.exitcode),
                               st->restart_times.size(), cap));
    return;
  }
  st->restart_times.push_back(now);
  const Duration delay = restart_delay(st, dead.index, now);
  // Exit 0 unasked: the worker chose to stop (SIGTERM sent to it, its body returned).
  braid::detail::log().log(*dead.exitcode == 0 ? spdlog::level::warn : spdlog::level::err,
                           "{}: {} exited unasked ({}); restarting it in {} ms", st->opts.name,
                           st->worker_name(dead), describe_exit(*dead.exitcode), to_ms(delay));
  if (st->stop_requested.wait(delay)) return;    // stopping meanwhile
  if (st->slots[dead.index] != nullptr) return;  // a reload filled the slot meanwhile
  ++st->restarts;
  try {
    start_worker(st, dead.index, true);  // a failed start is seen by its own watcher
  } catch (const std::exception& e) {
    fail_group(st,
               fmt::format("{}: restarting worker {}: {}", st->opts.name, dead.index, e.what()));
  }
}

// Each worker's own coroutine: reaps it, reports it, restarts it when it died unasked.
void watch_worker(const GroupPtr& st, const WorkerPtr& w) {
  w->proc->join();
  w->exitcode = w->proc->exitcode().value_or(-1);
  w->start_done.wait();  // start_worker may still be parked on the control socket
  std::erase(st->control_fds, w->control);
  std::erase(st->control_inodes, w->control_inode);
  close_fd(w->control);
  std::erase(st->live, w);
  const bool expected = w->retiring || st->stopping;
  if (expected) {
    braid::detail::log().info("{}: {} exited ({})", st->opts.name, st->worker_name(*w),
                              describe_exit(*w->exitcode));
  }
  if (st->opts.on_child_exit) {
    try {
      st->opts.on_child_exit(WorkerExit{w->index, w->proc->pid(), *w->exitcode, expected});
    } catch (const std::exception& e) {
      braid::detail::log().error("{}: on_child_exit threw: {}", st->opts.name, e.what());
    } catch (...) {
      braid::detail::log().error("{}: on_child_exit threw a non-std exception", st->opts.name);
    }
  }
  const bool installed = st->slots[w->index] == w;
  if (installed) st->slots[w->index] = nullptr;  // pids() shows 0 until a replacement is ready
  w->exited.set();
  if (expected || !installed) {
    if (!expected) {
      braid::detail::log().error("{}: {} died before it was ready ({})", st->opts.name,
                                 st->worker_name(*w), describe_exit(*w->exitcode));
    }
    return;
  }
  if (st->initial_start) {
    braid::detail::log().error("{}: {} died during start ({})", st->opts.name, st->worker_name(*w),
                               describe_exit(*w->exitcode));
    return;
  }
  restart_slot(st, *w);
}

// Asks `w` to stop and waits up to `grace` for it, then kills it.
void retire(const WorkerGroup::State& st, const WorkerPtr& w, Duration grace) {
  w->retiring = true;
  send_stop(w, grace);
  if (w->exited.wait(grace)) return;
  braid::detail::log().warn("{}: {} still running after its {} ms grace: killing it", st.opts.name,
                            st.worker_name(*w), to_ms(grace));
  w->proc->kill();
  if (!w->exited.wait(kKillReapBound)) {
    braid::detail::log().error("{}: {} not reaped {} s after SIGKILL", st.opts.name,
                               st.worker_name(*w), to_ms(kKillReapBound) / 1000);
  }
}

void stop_group(const GroupPtr& st, Duration grace) {
  if (st->stopping) {
    st->done.wait();
    return;
  }
  st->stopping = true;
  st->stop_requested.set();
  const auto deadline = Clock::now() + grace;
  // A worker forked after this snapshot cannot exist: nothing forks once stopping is set.
  const std::vector<WorkerPtr> workers = st->live;
  for (const auto& w : workers) {
    w->retiring = true;
    send_stop(w, grace);
  }
  for (const auto& w : workers) (void)w->exited.wait(remaining(deadline));
  for (const auto& w : workers) {
    if (w->exited.is_set()) continue;
    braid::detail::log().warn("{}: {} still running after the {} ms grace: killing it",
                              st->opts.name, st->worker_name(*w), to_ms(grace));
    w->proc->kill();
  }
  for (const auto& w : workers) {
    if (!w->exited.wait(kKillReapBound)) {
      braid::detail::log().error("{}: {} not reaped {} s after SIGKILL", st->opts.name,
                                 st->worker_name(*w), to_ms(kKillReapBound) / 1000);
    }
  }
  // The watchers end right after their worker's exit (a restart back-off wakes on
  // stop_requested); once they have, the group holds no descriptor or process.
  if (st->watchers > 0) (void)st->watchers_idle.wait(kKillReapBound);
  st->done.set();
}

void fail_group(const GroupPtr& st, std::string why) {
  if (st->failure || st->stopping) return;
  braid::detail::log().error("{}", why);
  st->failure = std::move(why);
  // Not from this coroutine: a watcher must not wait for its own worker's exit.
  spawn(SpawnOptions{st->opts.name + " stop", 0}, [st] { stop_group(st, st->opts.stop_grace); });
}

bool reload_group(const GroupPtr& st) {
  if (!st->started || st->stopping || st->reloading) return false;
  st->reloading = true;
  struct Guard {
    WorkerGroup::State& st;
    ~Guard() { st.reloading = false; }
  } guard{*st};
  for (unsigned i = 0; i < st->size; ++i) {
    WorkerPtr fresh;
    if (!start_worker(st, i, false, &fresh)) {
      if (!st->stopping) {
        braid::detail::log().error(
            "{}: reload: the new worker {} did not become ready; keeping the "
            "old workers from index {} on",
            st->opts.name, i, i);
      }
      return false;
    }
    if (st->stopping) return false;  // stop() retires the new one with the rest
    const WorkerPtr old = st->slots[i];
    st->slots[i] = fresh;
    if (old) retire(*st, old, st->opts.stop_grace);
  }
  braid::detail::log().info("{}: reload done: {} worker(s) replaced", st->opts.name, st->size);
  return true;
}
}  // namespace

WorkerGroup::WorkerGroup(Body body, WorkerGroupOptions opts) : st_(std::make_shared<State>()) {
  if (!body) throw std::invalid_argument("WorkerGroup: the worker body is empty");
  if (opts.start_timeout <= Duration::zero()) {
    throw std::invalid_argument("WorkerGroup: start_timeout must be positive");
  }
  if (opts.restart_backoff < Duration::zero() || opts.max_restart_backoff < opts.restart_backoff) {
    throw std::invalid_argument(
        "WorkerGroup: restart_backoff must be >= 0 and <= max_restart_backoff");
  }
  st_->size = opts.workers == 0 ? cpu_count() : opts.workers;
  st_->body = std::move(body);
  st_->opts = std::move(opts);
  st_->slots.resize(st_->size);
  st_->generations.resize(st_->size, 0);
  st_->slot_restarts.resize(st_->size);
}

WorkerGroup::~WorkerGroup() {
  if (!st_->started || st_->done.is_set()) return;
  if (Hub::current_if_any() != nullptr) {
    try {
      stop_group(st_, Duration::zero());
      return;
    } catch (...) {
      // Killed or out of hub: fall through to killing without waiting.
    }
  }
  for (const auto& w : st_->live) w->proc->kill();  // each Process hands its child to the reaper
}

void WorkerGroup::start() {
  if (st_->started) throw std::logic_error("WorkerGroup: started twice");
  st_->started = true;
  st_->initial_start = true;
  const GroupPtr st = st_;
  std::vector<Task<bool>> starting;
  // Shared with the starting coroutines, which outlive this frame if start() is killed.
  auto workers = std::make_shared<std::vector<WorkerPtr>>(st->size);
  std::exception_ptr error;
  for (unsigned i = 0; i < st->size; ++i) {
    starting.push_back(
        spawn(SpawnOptions{fmt::format("{} start {}", st->opts.name, i), 0},
              [st, i, workers] { return start_worker(st, i, true, &(*workers)[i]); }));
  }
  for (auto& t : starting) {
    try {
      (void)t.get();
    } catch (const std::exception&) {
      if (!error) error = std::current_exception();
    }
  }
  std::string why;
  for (unsigned i = 0; i < st->size && why.empty(); ++i) {
    const WorkerPtr& w = (*workers)[i];
    if (st->slots[i] != nullptr && st->slots[i]->ready) continue;
    if (w == nullptr) continue;  // its fork failed: `error` says why
    (void)w->exited.wait(kKillReapBound);
    why = fmt::format("{}: {} {} before it was ready", st->opts.name, st->worker_name(*w),
                      w->exitcode ? describe_exit(*w->exitcode) : std::string("did not exit"));
  }
  st->initial_start = false;
  if (why.empty() && !error) return;
  stop_group(st, Duration::zero());
  if (error) std::rethrow_exception(error);
  throw std::runtime_error(why);
}

int WorkerGroup::run() {
  if (!st_->started) start();
  const GroupPtr st = st_;
  auto stop_on = [st](const char* sig) {
    return [st, sig] {
      braid::detail::log().info("{}: {}: stopping every worker (grace {} ms)", st->opts.name, sig,
                                to_ms(st->opts.stop_grace));
      stop_group(st, st->opts.stop_grace);
    };
  };
  SignalHandler on_term = signal_handler(SIGTERM, stop_on("SIGTERM"));
  SignalHandler on_int = signal_handler(SIGINT, stop_on("SIGINT"));
  SignalHandler on_hup = signal_handler(SIGHUP, [st] {
    braid::detail::log().info("{}: SIGHUP: replacing the workers one by one", st->opts.name);
    (void)reload_group(st);
  });
  st->done.wait();
  return st->failure ? 1 : 0;
}

void WorkerGroup::stop(std::optional<Duration> grace) {
  if (!st_->started) {
    st_->stopping = true;
    st_->done.set();
    return;
  }
  stop_group(st_, grace.value_or(st_->opts.stop_grace));
}

bool WorkerGroup::reload() { return reload_group(st_); }

std::vector<pid_t> WorkerGroup::pids() const {
  std::vector<pid_t> out;
  out.reserve(st_->size);
  for (const auto& w : st_->slots) out.push_back(w && w->ready ? w->proc->pid() : 0);
  return out;
}

unsigned WorkerGroup::size() const noexcept { return st_->size; }
std::uint64_t WorkerGroup::restarts() const noexcept { return st_->restarts; }
bool WorkerGroup::running() const noexcept { return st_->started && !st_->done.is_set(); }
std::optional<std::string> WorkerGroup::failure() const { return st_->failure; }

}  // namespace braid::process
