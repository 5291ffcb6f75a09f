// The stall detector and dump-on-signal: one process-wide watchdog thread that watches
// every hub's heartbeat (detail::HubHeartbeat) and, for a hub whose loop has run without
// turning for longer than the threshold, takes a backtrace of that hub's thread (by a
// signal handled on that thread) and logs it. The same thread turns a dump signal into a
// dump posted to each hub's loop. Registered hubs are kept in a list under one mutex;
// a hub leaves it (on its own thread) before it is destroyed.
#include <braid/runtime/diagnostics.hpp>

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/log.hpp>

#include "diagnostics_registry.hpp"
#include "stack_frames.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

namespace braid {

namespace detail {
namespace {

using std::chrono::milliseconds;

/// Filled by the sampling signal's handler on the hub's thread.
struct StallSample {
  static constexpr std::size_t kFrames = 48;
  void* frames[kFrames + 1] = {};
  std::size_t n = 0;
  std::uint64_t coroutine_id = 0;
  char coroutine_name[64] = {};
  bool is_root = false;
  std::atomic<bool> taken{false};
};

thread_local StallSample t_sample;

struct Watched {
  Hub* hub;
  pthread_t thread;
  pid_t tid;
  StallSample* sample;
  std::shared_ptr<HubMailbox> mailbox;
  // Watchdog-side state.
  std::uint64_t seen_turns = 0;
  Clock::time_point since{};  // when seen_turns was first seen (while in the loop)
  bool reported = false;      // this stall was reported
  Clock::time_point last_report{};
};

struct Registry {
  std::mutex mutex;
  std::vector<Watched> hubs;
  std::condition_variable wake;  // stop, or a new threshold
  std::thread watchdog;
  bool running = false;
  bool stopping = false;
  milliseconds threshold{0};  // 0: stall detection off (the thread may still serve dumps)
  int dump_signal = 0;
  int dump_pipe[2] = {-1, -1};  // written by the dump signal's handler
  std::uint64_t reports = 0;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: hubs of exiting threads use it
  return *r;
}

int sample_signal() { return SIGRTMIN + 7; }

// On the hub's thread, interrupted wherever it was: record the stack and the running
// coroutine. Only reads and plain stores (and the unwinder, warmed up beforehand).
void on_sample_signal(int) {
  const int saved_errno = errno;
  StallSample& s = t_sample;
  // Skip this handler and the kernel's signal trampoline (__restore_rt).
  s.n = capture_frames(s.frames, StallSample::kFrames, 2);
  if (Hub* hub = Hub::current_if_any()) {
    const FiberRecord* f = DiagnosticsAccess::current(*hub);
    s.coroutine_id = f->id;
    s.is_root = f->is_root;
    const std::size_t len = std::min(f->name.size(), sizeof s.coroutine_name - 1);
    std::memcpy(s.coroutine_name, f->name.data(), len);
    s.coroutine_name[len] = '\0';
  }
  s.taken.store(true, std::memory_order_release);
  errno = saved_errno;
}

void on_dump_signal(int) {
  const int saved_errno = errno;
  const char byte = 1;
  (void)!::write(registry().dump_pipe[1], &byte, 1);
  errno = saved_errno;
}

std::string sample_coroutine(const StallSample& s) {
  if (s.is_root) return "main (no coroutine)";
  if (s.coroutine_name[0] != '\0')
    return fmt::format("'{}' (#{})", s.coroutine_name, s.coroutine_id);
  return fmt::format("'Task-{}' (#{})", s.coroutine_id, s.coroutine_id);
}

// Samples and reports one stalled hub. Called by the watchdog with the lock held: the hub
// cannot leave the list (its thread would wait for the lock) while its thread is signalled.
void report_stall(Registry& r, Watched& w, Clock::time_point now) {
  w.sample->taken.store(false, std::memory_order_relaxed);
  if (::pthread_kill(w.thread, sample_signal()) != 0) return;
  for (int i = 0; i < 200 && !w.sample->taken.load(std::memory_order_acquire); ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const auto stuck = now - w.since;
  std::string where = "(no backtrace: the thread did not answer the sampling signal)\n";
  std::string who = "unknown";
  if (w.sample->taken.load(std::memory_order_acquire)) {
    where = format_frames(w.sample->frames, w.sample->n, "    ");
    who = sample_coroutine(*w.sample);
  }
  ++r.reports;
  log().warn(
      "stall: the hub of thread {} has not turned its loop for {} (threshold {}); running: {}; "
      "backtrace of that thread:\n{}",
      static_cast<long>(w.tid), format_duration(stuck), format_duration(r.threshold), who, where);
}

void post_dumps(Registry& r, int signum) {
  for (Watched& w : r.hubs) {
    w.mailbox->post(
        [signum] { log().warn("coroutine dump (signal {}):\n{}", signum, format_coroutines()); });
  }
}

void watchdog_main() {
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  while (!r.stopping) {
    // Check four times per threshold (between 1 ms and 100 ms apart); sleep on the dump
    // pipe, so a dump signal is served at once.
    const auto period = r.threshold.count() > 0
                            ? std::clamp(r.threshold / 4, milliseconds(1), milliseconds(100))
                            : milliseconds(100);
    const int pipe_fd = r.dump_pipe[0];
    lock.unlock();
    if (pipe_fd >= 0) {
      pollfd p{pipe_fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(period.count())) > 0) {
        char buf[64];
        while (::read(pipe_fd, buf, sizeof buf) > 0) {
        }
        lock.lock();
        post_dumps(r, r.dump_signal);
        lock.unlock();
      }
    } else {
      std::this_thread::sleep_for(period);
    }
    lock.lock();
    if (r.threshold.count() == 0) continue;
    const auto now = Clock::now();
    for (Watched& w : r.hubs) {
      HubHeartbeat& hb = DiagnosticsAccess::heartbeat(*w.hub);
      const std::uint64_t turns = hb.turns.load(std::memory_order_relaxed);
      if (turns != w.seen_turns || !hb.in_loop.load(std::memory_order_relaxed)) {
        w.seen_turns = turns;  // moving, waiting for I/O, or back in the application
        w.since = now;
        w.reported = false;
        continue;
      }
      if (w.reported || now - w.since <= r.threshold) continue;
      if (w.last_report != Clock::time_point{} && now - w.last_report < std::chrono::seconds(1))
        continue;
      report_stall(r, w, now);
      w.reported = true;
      w.last_report = now;
    }
  }
}

// With the lock held.
void start_watchdog(Registry& r) {
  if (r.running) return;
  r.stopping = false;
  r.running = true;
  r.watchdog = std::thread(watchdog_main);
}

void install_handler(int signum, void (*fn)(int)) {
  struct sigaction sa {};
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(signum, &sa, nullptr) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("sigaction({}) for braid's diagnostics", signum));
  }
}

int parse_signal(const char* text) {
  static const std::pair<const char*, int> names[] = {
      {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGQUIT", SIGQUIT}, {"SIGHUP", SIGHUP},
      {"USR1", SIGUSR1},    {"USR2", SIGUSR2},    {"QUIT", SIGQUIT},    {"HUP", SIGHUP}};
  for (const auto& [name, num] : names) {
    if (std::strcmp(text, name) == 0) return num;
  }
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  if (end == text || *end != '\0') return -1;
  return static_cast<int>(n);
}

// BRAID_STALL_MS, BRAID_SPAWN_STACKS and BRAID_DUMP_SIGNAL, read once (first hub).
void apply_environment() {
  if (const char* ms = std::getenv("BRAID_STALL_MS"); ms != nullptr && *ms != '\0') {
    char* end = nullptr;
    const long v = std::strtol(ms, &end, 10);
    if (end == ms || *end != '\0' || v < 1) {
      log().error("BRAID_STALL_MS={}: not a whole number of milliseconds >= 1; stall detector off",
                  ms);
    } else {
      enable_stall_detector(milliseconds(v));
    }
  }
  if (const char* on = std::getenv("BRAID_SPAWN_STACKS");
      on != nullptr && std::strcmp(on, "1") == 0) {
    capture_spawn_stacks(true);
  }
  if (const char* sig = std::getenv("BRAID_DUMP_SIGNAL"); sig != nullptr && *sig != '\0') {
    try {
      dump_coroutines_on_signal(parse_signal(sig));
    } catch (const std::exception& e) {
      log().error("BRAID_DUMP_SIGNAL={}: {}; no dump on signal", sig, e.what());
    }
  }
}

}  // namespace

void DiagnosticsAccess::register_hub(Hub& hub) {
  static std::once_flag env_once;
  Registry& r = registry();
  {
    std::lock_guard lock(r.mutex);
    r.hubs.push_back(
        Watched{&hub, ::pthread_self(), ::gettid(), &t_sample, hub.mailbox(), 0, {}, false, {}});
  }
  std::call_once(env_once, apply_environment);
}

void DiagnosticsAccess::unregister_hub(Hub& hub) noexcept {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.hubs, [&hub](const Watched& w) { return w.hub == &hub; });
}

void DiagnosticsAccess::after_fork(Hub& hub) noexcept {
  // The watchdog thread did not survive the fork, and may have held the lock: start over
  // with this hub only. Its list and thread object belong to the parent; leak them.
  Registry& r = registry();
  new (&r.mutex) std::mutex();
  new (&r.hubs) std::vector<Watched>();
  new (&r.watchdog) std::thread();
  new (&r.wake) std::condition_variable();
  r.running = false;
  r.threshold = milliseconds(0);
  r.hubs.push_back(
      Watched{&hub, ::pthread_self(), ::gettid(), &t_sample, hub.mailbox(), 0, {}, false, {}});
}

}  // namespace detail

void enable_stall_detector(std::chrono::milliseconds threshold) {
  if (threshold < std::chrono::milliseconds(1)) {
    throw std::invalid_argument(fmt::format(
        "enable_stall_detector: threshold {} ms is below the 1 ms minimum", threshold.count()));
  }
  detail::warm_up_stack_capture();
  detail::install_handler(detail::sample_signal(), detail::on_sample_signal);
  detail::Registry& r = detail::registry();
  std::lock_guard lock(r.mutex);
  r.threshold = threshold;
  detail::start_watchdog(r);
}

void disable_stall_detector() {
  detail::Registry& r = detail::registry();
  std::thread t;
  {
    std::lock_guard lock(r.mutex);
    r.threshold = std::chrono::milliseconds(0);
    if (r.dump_signal != 0 || !r.running) return;  // still serving dumps, or never ran
    r.stopping = true;
    r.running = false;
    t = std::move(r.watchdog);
  }
  if (t.joinable()) t.join();
}

std::optional<std::chrono::milliseconds> stall_detector_threshold() {
  detail::Registry& r = detail::registry();
  std::lock_guard lock(r.mutex);
  if (r.threshold.count() == 0) return std::nullopt;
  return r.threshold;
}

std::uint64_t stall_reports() {
  detail::Registry& r = detail::registry();
  std::lock_guard lock(r.mutex);
  return r.reports;
}

void dump_coroutines_on_signal(int signum) {
  if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP) {
    throw std::invalid_argument(
        fmt::format("dump_coroutines_on_signal: signal {} cannot be caught", signum));
  }
  detail::Registry& r = detail::registry();
  std::lock_guard lock(r.mutex);
  if (r.dump_pipe[0] < 0 && ::pipe2(r.dump_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::system_error(errno, std::generic_category(), "dump_coroutines_on_signal: pipe2");
  }
  detail::install_handler(signum, detail::on_dump_signal);
  r.dump_signal = signum;
  detail::start_watchdog(r);
}

}  // namespace braid
