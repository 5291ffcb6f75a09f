// The hub: one event loop per thread. It owns the Asio io_context (epoll, kqueue, IOCP or
// select underneath), braid's ready queue of coroutines and its timers, and runs them all
// on the thread that created it.
//
// What may switch: every blocking braid call parks the calling coroutine and lets the hub
// run others. Called outside any coroutine (in main, the "root" context), a blocking call
// runs the hub until it can return, so `spawn` + `joinall` in main just works.
//
// Public: what an application drives or observes — the loop (run, run_once, poll, run_for,
// stop, post), embedding (the io_context constructor, install/uninstall, context,
// native_handle, next_timeout, KeepAlive), introspection (in_coroutine, live_count,
// stats) and cooperate(), which an application's own I/O loop (a database client adapter)
// needs to stay fair. Private, reached only through detail::Scheduling: the scheduling
// half (park, schedule, interrupts, timers, external work, fork reset), whose callers must
// keep the scheduler's invariants; applications use the coro primitives built on it
// (yield_now, sleep, Event, Timeout...).
#pragma once

#include <braid/runtime/detail/fiber_record.hpp>
#include <braid/runtime/detail/hub_metrics.hpp>
#include <braid/runtime/detail/timer_heap.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/stats.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace braid {

using Duration = std::chrono::steady_clock::duration;

namespace detail {
struct HubMailbox;
class FdWatcher;
struct DiagnosticsAccess;
struct Scheduling;

/// Result of a park with a deadline of its own.
enum class ParkResult { woken, timed_out };
}  // namespace detail

class Hub {
 public:
  /// The calling thread's hub, created on first use.
  static Hub& current();
  /// The calling thread's hub if it has one, else nullptr (never creates one).
  static Hub* current_if_any() noexcept;

  /// Builds a hub on its own io_context (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO: one thread,
  /// no per-socket reactor locking; post() from other threads stays safe).
  Hub();
  /// Adopts an application's io_context: braid coroutines and the application's own
  /// Asio handlers then share one loop. `ctx` must outlive the hub.
  explicit Hub(boost::asio::io_context& ctx);
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  /// Kills (unwinds with GreenletExit) every coroutine still alive, then closes the loop.
  ~Hub();

  /// Installs `hub` as the calling thread's hub (for an adopted io_context). The thread
  /// must not have a hub yet; std::logic_error otherwise.
  static Hub& install(std::unique_ptr<Hub> hub);
  /// Destroys the calling thread's hub now (unwinding its coroutines), e.g. before an
  /// adopted io_context goes away. A later Hub::current() creates a new one.
  static void uninstall();

  /// The hub's io_context. In a forked child it is built on first use, so a child that
  /// never waits on I/O or a timer never pays for an epoll instance.
  boost::asio::io_context& context() {
    boost::asio::io_context* ctx = ctx_.load(std::memory_order_acquire);
    return ctx != nullptr ? *ctx : make_context();
  }

  /// Runs coroutines, timers and I/O until no work is left or stop() is called.
  /// Must be called outside any coroutine (std::logic_error otherwise).
  void run();
  /// Waits for and runs at least one ready coroutine or handler; returns how many ran
  /// (0 when no work is left).
  std::size_t run_once();
  /// Runs what is ready now; never blocks. Returns how many coroutines and handlers ran.
  std::size_t poll();
  /// Runs for at most `d`; returns how many coroutines and handlers ran.
  std::size_t run_for(Duration d);
  /// Makes run()/run_for() return soon. Thread-safe.
  void stop();
  /// Runs `fn` on the hub's thread, from the loop (not inside a coroutine: spawn one from
  /// `fn` to block). Thread-safe. An exception from `fn` is logged and swallowed.
  void post(std::function<void()> fn);
  /// A descriptor a host loop can poll for readability: the epoll instance on Linux,
  /// -1 with reactors that have none. Wait on it with timeout next_timeout().
  int native_handle() const;
  /// How long a host loop may sleep before the hub needs to run again: zero when
  /// coroutines are ready, the time to the next braid timer, or nullopt for "until the
  /// native handle becomes readable".
  std::optional<Duration> next_timeout() const;

  /// Keeps run() and blocking calls from treating the loop as finished while alive
  /// (for hubs fed by other threads through post()). Copyable; release by destroying.
  class KeepAlive {
   public:
    explicit KeepAlive(Hub& hub);
    ~KeepAlive();
    KeepAlive(const KeepAlive& other);
    KeepAlive& operator=(const KeepAlive&) = delete;

   private:
    Hub* hub_;
  };

  /// True when called from a spawned coroutine (false in the root context).
  bool in_coroutine() const noexcept { return current_ != root_.get(); }
  /// Number of spawned coroutines not yet finished.
  std::size_t live_count() const noexcept { return live_count_; }

  /// The hub's counters, loop lag and longest turn (see HubStats). Cheap: copies counters
  /// and sorts at most 4096 lag samples. Call on the hub's own thread. With
  /// `reset_window`, the lag window and the longest turn start afresh after this call.
  HubStats stats(bool reset_window = false);

  /// For I/O loops (braid's own and an application's, e.g. a database client adapter),
  /// called before each operation that may complete without parking (a speculative send, an accept,
  /// a read of buffered bytes): after kSliceOps such calls in one run of a coroutine, it yields to
  /// the hub, so a socket that never blocks cannot keep timers, ready coroutines and other I/O
  /// waiting (Tokio's "coop budget"). Call it before the operation, never between an operation and
  /// reporting its result: it may throw GreenletExit or TimeoutError, as any switch point does. A
  /// counter increment in the common case; does nothing inside a hub callback.
  void cooperate() {
    if (++slice_ops_ >= kSliceOps) cooperate_slow();
  }
  /// Operations a coroutine may complete without parking before cooperate() yields.
  static constexpr unsigned kSliceOps = 32;

 private:
  // ---- The scheduling half: braid's own modules reach it through detail::Scheduling
  // (below), so an application cannot park, wake or interrupt a context by hand.

  /// The running context: a spawned coroutine, or the root.
  detail::FiberRecord& running() noexcept { return *current_; }

  using ParkResult = detail::ParkResult;

  /// Parks the running context until something calls schedule() on it. The caller has
  /// registered itself where a wake will come from, and passes `cancel` to undo that
  /// registration if an interrupt arrives. Throws GreenletExit (kill) and TimeoutError
  /// (an enclosing Timeout); returns timed_out when the deadline identified by
  /// `own_deadline` fired instead. Outside any coroutine it runs the loop until woken,
  /// and throws LoopExit when nothing can wake it.
  ParkResult park(detail::WaitInfo info, detail::CancelFn cancel, void* cancel_arg,
                  const void* own_deadline = nullptr);
  /// Makes a parked (or newly spawned) context ready to run. No-op otherwise.
  void schedule(detail::FiberRecord& f) noexcept;
  /// schedule() for an Asio completion handler run by the hub's loop: resumes the
  /// coroutine at once, inside the handler, as asio::spawn does. That skips the ready
  /// queue and lets Asio reuse the operation's memory for the coroutine's next operation
  /// (its recycling cache lives only as long as one run_one() call). Elsewhere (another
  /// handler's coroutine, the root, a nested call) it falls back to schedule().
  void wake_from_handler(detail::FiberRecord& f) noexcept;
  /// Delivers a kill or timeout to `f` at its switch point.
  void interrupt(detail::FiberRecord& f, detail::Interrupt kind, const void* source = nullptr,
                 std::chrono::nanoseconds length = {}) noexcept;
  /// Clears a pending timeout interrupt that came from `source` (its scope ended).
  void clear_timeout(detail::FiberRecord& f, const void* source) noexcept;
  /// std::logic_error when the running code may not park (inside a hub callback).
  void check_can_block(const detail::WaitInfo& info) const;
  /// True inside a hub callback (an Asio handler, a timer callback, a post()ed function),
  /// where nothing may park or yield.
  bool in_hub_callback() const noexcept { return in_callback_ > 0; }
  /// Throws a pending interrupt for the running context now, if any.
  void check_interrupt();
  /// Puts the running coroutine at the back of the ready queue and switches away; in the
  /// root context, runs one non-blocking loop iteration.
  void yield();
  /// Starts tracking a spawned coroutine and queues it to run.
  void start(std::shared_ptr<detail::FiberRecord> f);
  /// Finishes a coroutine that never started (killed first): it will never run.
  void cancel_unstarted(detail::FiberRecord& f) noexcept;

  detail::TimerHeap& timers() noexcept { return timers_; }
  void add_timer(detail::TimerNode& node) { timers_.push(node); }
  void remove_timer(detail::TimerNode& node) noexcept { timers_.remove(node); }

  /// Counts an outstanding operation that will complete through post() from another
  /// thread (to_thread): the loop is not finished while any is pending.
  void begin_external_work();
  void end_external_work() noexcept;
  /// Thread-safe post that is dropped (returns false) once the hub is destroyed.
  std::shared_ptr<detail::HubMailbox> mailbox() const noexcept { return mailbox_; }

  /// In a forked child: no coroutines, and a fresh io_context built on first use; the
  /// caller's context becomes the root. Everything the parent had in flight is abandoned
  /// without running.
  void reset_after_fork();

  struct ReadyQueue {
    detail::FiberRecord* head = nullptr;
    detail::FiberRecord* tail = nullptr;
    std::size_t size = 0;
    void push(detail::FiberRecord* f) noexcept;
    detail::FiberRecord* pop() noexcept;
  };

  void init();
  boost::asio::io_context& make_context();
  void require_root(const char* what) const;
  /// What one loop turn did: coroutines resumed + timers fired + I/O handlers run, and
  /// whether the loop still has work (false ends run()).
  struct TurnResult {
    std::size_t ran = 0;
    bool alive = true;
  };
  /// What the I/O phase of a turn did: handlers run, and time spent blocked waiting.
  struct IoPhase {
    std::size_t handlers = 0;
    detail::Clock::duration blocked{};
  };
  TurnResult run_iteration(bool may_block, std::optional<detail::Clock::time_point> until);
  std::size_t run_ready();
  std::size_t run_timers();
  IoPhase poll_io(bool may_block, std::optional<detail::Clock::time_point> until);
  bool loop_alive() const noexcept;
  std::size_t drain_io(boost::asio::io_context& ctx, bool after_block,
                       std::optional<detail::Clock::time_point> until);
  bool turn_over(detail::Clock::time_point turn_end,
                 std::optional<detail::Clock::time_point> until) const noexcept;
  void arm_wake_timer();
  void cooperate_slow();
  void post_from_any_thread(std::function<void()> fn);  // and wake a host polling us
  void resume(detail::FiberRecord& f);
  void switch_to_scheduler(detail::FiberRecord& self);
  void wait_in_root(detail::FiberRecord& root);
  [[noreturn]] void throw_interrupt(detail::FiberRecord& self);
  void link_live(detail::FiberRecord& f) noexcept;
  void unlink_live(detail::FiberRecord& f) noexcept;
  void finish(detail::FiberRecord& f) noexcept;
  void unwind_all() noexcept;
  std::string describe_parked() const;
  static boost::context::fiber fiber_main(detail::FiberRecord* f, boost::context::fiber&& sched);

  std::unique_ptr<boost::asio::io_context> own_ctx_;       // null when adopting
  std::atomic<boost::asio::io_context*> ctx_;              // null in a child until first use
  std::mutex ctx_mutex_;                                   // serialises make_context()
  std::unique_ptr<boost::asio::steady_timer> wake_timer_;  // armed for timers_.top()
  detail::Clock::time_point wake_armed_at_ = detail::Clock::time_point::max();
  detail::TimerHeap timers_;
  ReadyQueue ready_;
  std::unique_ptr<detail::FiberRecord> root_;  // the thread's own context
  detail::FiberRecord* current_;               // running context
  detail::FiberRecord* live_head_ = nullptr;   // spawned, not finished
  std::size_t live_count_ = 0;
  boost::context::fiber sched_cont_;    // the loop's context while a coroutine runs
  void* sched_stack_bottom_ = nullptr;  // extents for AddressSanitizer's switch hooks
  std::size_t sched_stack_size_ = 0;
  unsigned slice_ops_ = 0;        // cooperate() calls since the running context resumed
  int in_callback_ = 0;           // >0 while a handler or timer callback runs
  bool in_reactor_ = false;       // inside io_context::run_one()/poll()
  bool resuming_inline_ = false;  // a coroutine runs inside a handler
  std::atomic<bool> stop_requested_{false};
  // True only while the loop blocks inside io_context::run_one(): Asio itself wakes it for
  // another thread's post. Otherwise such a post also wakes the reactor's descriptor, for
  // a host that sleeps on native_handle() after poll().
  std::atomic<bool> blocked_in_asio_{false};
  std::shared_ptr<detail::HubMailbox> mailbox_;
  detail::FdWatcher* watchers_ = nullptr;     // registered with ctx_, released with the hub
  detail::HubMetrics metrics_;                // Hub::stats()
  detail::HubHeartbeat heartbeat_;            // read by the stall detector's thread
  detail::Clock::time_point turn_started_{};  // this turn's start: a coarse "now"

  friend struct detail::HubMailbox;
  friend class detail::FdWatcher;
  friend struct detail::DiagnosticsAccess;
  friend struct detail::Scheduling;
};

namespace detail {
/// Lets other threads post to a hub that may be destroyed meanwhile.
struct HubMailbox {
  std::mutex mutex;
  Hub* hub = nullptr;  // null once the hub is gone
  bool post(std::function<void()> fn);
};

/// The hub's scheduling half, for braid's own modules (coro, net, process, hooks) and
/// their templates: parking and waking contexts, interrupts, timers, outstanding
/// cross-thread work. Each function forwards to the Hub member of the same name, whose
/// comment says what it does. Not part of the API: its signatures change as the runtime
/// does, and misuse (a wake for a context that is not parked where it registered) breaks
/// the scheduler's invariants.
struct Scheduling {
  static FiberRecord& running(Hub& hub) noexcept { return hub.running(); }
  static ParkResult park(Hub& hub, WaitInfo info, CancelFn cancel, void* cancel_arg,
                         const void* own_deadline = nullptr) {
    return hub.park(info, cancel, cancel_arg, own_deadline);
  }
  static void schedule(Hub& hub, FiberRecord& f) noexcept { hub.schedule(f); }
  static void wake_from_handler(Hub& hub, FiberRecord& f) noexcept { hub.wake_from_handler(f); }
  static void interrupt(Hub& hub, FiberRecord& f, Interrupt kind, const void* source = nullptr,
                        std::chrono::nanoseconds length = {}) noexcept {
    hub.interrupt(f, kind, source, length);
  }
  static void clear_timeout(Hub& hub, FiberRecord& f, const void* source) noexcept {
    hub.clear_timeout(f, source);
  }
  static void check_can_block(const Hub& hub, const WaitInfo& info) { hub.check_can_block(info); }
  static bool in_hub_callback(const Hub& hub) noexcept { return hub.in_hub_callback(); }
  static void check_interrupt(Hub& hub) { hub.check_interrupt(); }
  static void yield(Hub& hub) { hub.yield(); }
  static void start(Hub& hub, std::shared_ptr<FiberRecord> f) { hub.start(std::move(f)); }
  static void cancel_unstarted(Hub& hub, FiberRecord& f) noexcept { hub.cancel_unstarted(f); }
  static TimerHeap& timers(Hub& hub) noexcept { return hub.timers(); }
  static void add_timer(Hub& hub, TimerNode& node) { hub.add_timer(node); }
  static void remove_timer(Hub& hub, TimerNode& node) noexcept { hub.remove_timer(node); }
  static void begin_external_work(Hub& hub) { hub.begin_external_work(); }
  static void end_external_work(Hub& hub) noexcept { hub.end_external_work(); }
  static std::shared_ptr<HubMailbox> mailbox(const Hub& hub) noexcept { return hub.mailbox(); }
  static void reset_after_fork(Hub& hub) { hub.reset_after_fork(); }
};
}  // namespace detail

}  // namespace braid
