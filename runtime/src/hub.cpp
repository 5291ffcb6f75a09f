// The hub's public face: creation per thread, the run/poll entry points for embedding,
// post(), and the loop's phases (ready coroutines, timers, I/O), one function each.
#include <braid/runtime/hub.hpp>

#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/stack_pool.hpp>
#include <braid/runtime/log.hpp>

#include "asio_private.hpp"
#include "diagnostics_registry.hpp"
#include "overflow_guard.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <csignal>
#include <stdexcept>

namespace braid {
namespace {

thread_local Hub* t_hub = nullptr;
thread_local bool t_hub_destroyed = false;

// Owns the thread's hub; its destructor runs at thread exit and unwinds live coroutines.
struct HubOwner {
  std::unique_ptr<Hub> hub;
  ~HubOwner() {
    hub.reset();
    t_hub_destroyed = true;
  }
};
thread_local HubOwner t_owner;

// A broken pipe is an error on that call (EPIPE), never the death of the process.
void ignore_sigpipe_once() {
  static const bool done = [] {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &sa, nullptr);
    return true;
  }();
  (void)done;
}

}  // namespace

Hub& Hub::current() {
  if (t_hub != nullptr) return *t_hub;
  if (t_hub_destroyed) {
    throw std::logic_error("braid: this thread's hub was already destroyed (thread exit)");
  }
  // The stack pool must outlive the hub (thread-locals die in reverse order of creation),
  // because the hub's destructor unwinds coroutines that still run on pooled stacks.
  detail::StackPool::local();
  t_owner.hub = std::make_unique<Hub>();
  t_hub = t_owner.hub.get();
  return *t_hub;
}

Hub* Hub::current_if_any() noexcept { return t_hub; }

Hub& Hub::install(std::unique_ptr<Hub> hub) {
  if (t_hub != nullptr) {
    throw std::logic_error("Hub::install: this thread already has a hub");
  }
  detail::StackPool::local();
  t_owner.hub = std::move(hub);
  t_hub = t_owner.hub.get();
  return *t_hub;
}

void Hub::uninstall() {
  if (t_hub == nullptr) return;
  if (t_hub->in_coroutine()) {
    throw std::logic_error("Hub::uninstall called inside a coroutine");
  }
  t_owner.hub.reset();
  t_hub = nullptr;
}

// One thread, and no locking of per-socket reactor state: braid's I/O objects are used on
// the hub's thread only. The scheduler stays locked, so post() is thread-safe.
constexpr int kConcurrencyHint = BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO;

// The I/O phase of one turn runs at most this many completion handlers (one epoll_wait
// returns up to 128 events) and for at most kIoQuota, reading the clock every
// kClockEvery handlers (a vDSO call: cheap, but not free per message). See
// docs/design.md, "The scheduling contract".
constexpr std::size_t kDrainBudget = 128;
constexpr auto kIoQuota = std::chrono::microseconds(250);
constexpr std::size_t kClockEvery = 4;

Hub::Hub()
    : own_ctx_(std::make_unique<boost::asio::io_context>(kConcurrencyHint)), ctx_(own_ctx_.get()) {
  init();
}

Hub::Hub(boost::asio::io_context& ctx) : ctx_(&ctx) { init(); }

void Hub::init() {
  ignore_sigpipe_once();
  detail::install_overflow_guard();
  root_ = std::make_unique<detail::FiberRecord>();
  root_->is_root = true;
  root_->name = "main";
  root_->state = detail::FiberState::running;
  current_ = root_.get();
  wake_timer_ = std::make_unique<boost::asio::steady_timer>(context());
  mailbox_ = std::make_shared<detail::HubMailbox>();
  mailbox_->hub = this;
  detail::DiagnosticsAccess::register_hub(*this);
}

Hub::~Hub() {
  detail::DiagnosticsAccess::unregister_hub(*this);
  unwind_all();
  while (watchers_ != nullptr) watchers_->release();  // each unlinks itself
  {
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->hub = nullptr;
  }
  wake_timer_.reset();
  timers_.clear();
  own_ctx_.reset();
  if (t_hub == this) t_hub = nullptr;
}

// Only a forked child gets here (constructors set ctx_), possibly from another thread
// the child started that posts to this hub, hence the lock.
boost::asio::io_context& Hub::make_context() {
  std::lock_guard lock(ctx_mutex_);
  if (boost::asio::io_context* ctx = ctx_.load(std::memory_order_acquire)) return *ctx;
  auto own = std::make_unique<boost::asio::io_context>(kConcurrencyHint);
  wake_timer_ = std::make_unique<boost::asio::steady_timer>(*own);
  own_ctx_ = std::move(own);
  ctx_.store(own_ctx_.get(), std::memory_order_release);
  return *own_ctx_;
}

void Hub::require_root(const char* what) const {
  if (in_callback_ > 0) {
    throw std::logic_error(fmt::format("{} called from a hub callback", what));
  }
  if (current_ != root_.get()) {
    throw std::logic_error(
        fmt::format("{} called inside coroutine '{}': only code outside coroutines drives the loop",
                    what, current_->display_name()));
  }
}

void Hub::run() {
  require_root("Hub::run");
  while (!stop_requested_.exchange(false)) {
    if (!run_iteration(true, std::nullopt).alive) break;
  }
}

std::size_t Hub::run_once() {
  require_root("Hub::run_once");
  std::size_t ran = 0;
  while (ran == 0 && !stop_requested_.exchange(false)) {
    const TurnResult turn = run_iteration(true, std::nullopt);
    ran += turn.ran;
    if (!turn.alive) break;
  }
  return ran;
}

std::size_t Hub::poll() {
  require_root("Hub::poll");
  return run_iteration(false, std::nullopt).ran + run_ready();  // + what the I/O just woke
}

std::size_t Hub::run_for(Duration d) {
  require_root("Hub::run_for");
  // A test clock that only advance() moves never reaches the limit: run what is ready.
  if (const detail::ManualTime* manual = detail::Clock::manual();
      manual != nullptr && !manual->auto_advance) {
    return poll();
  }
  const auto until = detail::Clock::now() + d;
  std::size_t ran = 0;
  while (!stop_requested_.exchange(false) && detail::Clock::now() < until) {
    const TurnResult turn = run_iteration(true, until);
    ran += turn.ran;
    if (!turn.alive) break;
  }
  return ran;
}

void Hub::stop() {
  stop_requested_ = true;
  post_from_any_thread([] {});  // wakes a loop blocked in the reactor, or a host polling it
}

void Hub::post(std::function<void()> fn) {
  post_from_any_thread([fn = std::move(fn)] {
    try {
      fn();
    } catch (const std::exception& e) {
      detail::log().error("function posted to the hub threw: {}", e.what());
    } catch (...) {
      detail::log().error("function posted to the hub threw a non-std exception");
    }
  });
}

// From another thread, the posted function may end this hub (HubThread::stop's does)
// before we return: the mailbox's lock holds ~Hub off until the wake-up is done.
void Hub::post_from_any_thread(std::function<void()> fn) {
  if (current_if_any() == this) {
    boost::asio::post(context(), std::move(fn));
  } else {
    mailbox_->post(std::move(fn));
  }
}

int Hub::native_handle() const {
  return detail::reactor_native_handle(const_cast<Hub*>(this)->context());
}

std::optional<Duration> Hub::next_timeout() const {
  if (ready_.size > 0) return Duration::zero();
  const detail::TimerNode* top = timers_.top();
  if (top == nullptr) return std::nullopt;
  return std::max(Duration::zero(), top->deadline - detail::Clock::now());
}

Hub::KeepAlive::KeepAlive(Hub& hub) : hub_(&hub) {
  hub_->context().get_executor().on_work_started();
}
Hub::KeepAlive::KeepAlive(const KeepAlive& other) : hub_(other.hub_) {
  hub_->context().get_executor().on_work_started();
}
// The constructor made the context exist, unless a fork came between: the child's
// context (if any) never counted this work.
Hub::KeepAlive::~KeepAlive() { hub_->end_external_work(); }

void Hub::begin_external_work() { context().get_executor().on_work_started(); }
void Hub::end_external_work() noexcept {
  if (boost::asio::io_context* ctx = ctx_.load(std::memory_order_acquire)) {
    ctx->get_executor().on_work_finished();
  }
}

bool detail::HubMailbox::post(std::function<void()> fn) {
  std::lock_guard lock(mutex);
  if (hub == nullptr) return false;
  boost::asio::io_context& ctx = hub->context();
  boost::asio::post(ctx, std::move(fn));
  // Asio wakes a loop blocked inside run_one(); a host sleeping on native_handle() after
  // poll() needs the reactor's descriptor woken too.
  if (!hub->blocked_in_asio_.load(std::memory_order_seq_cst)) detail::reactor_wake_host(ctx);
  return true;
}

// ---- the loop's phases ----

// One turn of the loop, in three phases: ready coroutines, due timers, then I/O (blocking
// only when nothing else is ready). Returns what it ran and whether work is left.
//
// Each turn also feeds the diagnostics: the heartbeat the stall detector watches (a turn
// counter, and in_loop while braid code runs here), and the longest turn for stats().
Hub::TurnResult Hub::run_iteration(bool may_block, std::optional<detail::Clock::time_point> until) {
  const auto started = detail::Clock::now();
  turn_started_ = started;
  ++metrics_.turns;
  heartbeat_.beat();
  TurnResult turn;
  turn.ran += run_ready();
  turn.ran += run_timers();
  const bool block = may_block && ready_.size == 0 && root_->state != detail::FiberState::ready &&
                     !stop_requested_;
  const IoPhase io = poll_io(block, until);
  turn.ran += io.handlers;
  // Without blocking, the caller decides when to stop; after a blocking wait the loop
  // goes on while it has anything left to do.
  turn.alive = !block || loop_alive();
  heartbeat_.in_loop.store(false, std::memory_order_relaxed);
  // A turn that ran nothing was short: skip the clock read (an idle poll() turn costs
  // ~55 ns, and a read ~25 ns of it).
  if (turn.ran != 0) {
    const auto busy = detail::Clock::now() - started - io.blocked;
    if (busy > metrics_.longest_turn) {
      metrics_.longest_turn = std::chrono::duration_cast<std::chrono::nanoseconds>(busy);
    }
  }
  return turn;
}

// Work left: operations or external work the io_context counts (it stops when that count
// reaches zero), braid timers, or ready coroutines.
bool Hub::loop_alive() const noexcept {
  const boost::asio::io_context* ctx = ctx_.load(std::memory_order_acquire);
  // Under a test clock that only advance() moves, timers cannot end a wait.
  const detail::ManualTime* manual = detail::Clock::manual();
  const bool timers_fire = manual == nullptr || manual->auto_advance;
  return (ctx != nullptr && !ctx->stopped()) || (timers_fire && !timers_.empty()) ||
         ready_.size > 0;
}

// run_ready() and the ready queue live in scheduler.cpp, next to the switch they inline.

std::size_t Hub::run_timers() {
  if (timers_.empty()) return 0;
  const auto now = detail::Clock::now();
  std::size_t n = 0;
  ++in_callback_;
  while (!timers_.empty() && timers_.top_deadline() <= now) {
    metrics_.record_lag(now - timers_.top_deadline());
    detail::TimerNode* t = timers_.pop();
    t->fire(t->arg);
    ++n;
  }
  metrics_.timers_fired += n;
  --in_callback_;
  return n;
}

// The I/O phase: runs completed I/O handlers, first blocking until one completes when
// `block`, then draining (drain_io). Returns how many ran and how long it blocked.
Hub::IoPhase Hub::poll_io(bool block, std::optional<detail::Clock::time_point> until) {
  IoPhase io;
  // A forked child that has not waited on anything yet has no io_context, so nothing to
  // poll: a yield there (Hub::cooperate in a loop of sends) must not build one.
  if (!block && ctx_.load(std::memory_order_acquire) == nullptr) return io;
  boost::asio::io_context& ctx = context();
  if (ctx.stopped()) ctx.restart();
  detail::reactor_scrub_submissions(ctx);  // io_uring only: see asio_private.cpp
  struct CallbackScope {
    Hub& hub;
    explicit CallbackScope(Hub& h) : hub(h) {
      ++hub.in_callback_;
      hub.in_reactor_ = true;
    }
    ~CallbackScope() {
      --hub.in_callback_;
      hub.in_reactor_ = false;
    }
  } scope(*this);
  // Armed in both modes: a host loop that sleeps on native_handle() must be woken by
  // the epoll descriptor when the next braid timer is due.
  arm_wake_timer();
  if (detail::ManualTime* manual = detail::Clock::manual(); block && manual != nullptr) {
    // A test clock (testing::ManualClock): no timer ends a wait by itself. In auto-advance
    // mode the wait becomes a zero-timeout poll, and when that runs no handler the clock
    // jumps to the next timer (or run_for's end), which the next turn fires. In manual
    // mode (or with nothing timed pending) the loop waits for I/O and posts alone.
    std::optional<detail::Clock::time_point> next = until;
    if (!timers_.empty() && (!next || timers_.top_deadline() < *next)) {
      next = timers_.top_deadline();
    }
    if (next && (manual->auto_advance || *next <= manual->now)) {
      io.handlers = drain_io(ctx, false, until);
      metrics_.io_handlers += io.handlers;
      if (io.handlers == 0 && *next > manual->now) manual->now = *next;
      return io;
    }
    until = std::nullopt;  // clock time, which stands still
  }
  if (!block) {
    // Never io_context::poll(): it runs handlers for as long as completions keep coming,
    // and a busy socket keeps them coming, so timers and the ready queue would starve.
    io.handlers = drain_io(ctx, false, until);
    metrics_.io_handlers += io.handlers;
    return io;
  }
  heartbeat_.in_loop.store(false, std::memory_order_relaxed);  // waiting is not a stall
  const auto wait_started = detail::Clock::now();
  blocked_in_asio_.store(true, std::memory_order_seq_cst);
  const std::size_t n = until ? ctx.run_one_until(*until) : ctx.run_one();
  blocked_in_asio_.store(false, std::memory_order_seq_cst);
  // The wait ends inside run_one, which also ran the first handler: counted as waiting.
  io.blocked = detail::Clock::now() - wait_started;
  heartbeat_.beat();  // the stall clock restarts after a wait (not a new turn for stats)
  io.handlers = n;
  if (n > 0) io.handlers += drain_io(ctx, true, until);
  metrics_.io_handlers += io.handlers;
  return io;
}

// Whether this turn's I/O phase must end: its time is used up, a braid timer is due, or
// run_for's end has come.
bool Hub::turn_over(detail::Clock::time_point turn_end,
                    std::optional<detail::Clock::time_point> until) const noexcept {
  const auto now = detail::Clock::now();
  return now >= turn_end || (until && now >= *until) ||
         (!timers_.empty() && timers_.top_deadline() <= now);
}

// The I/O phase's bounded drain: runs completed handlers one poll_one() each, at most
// kDrainBudget of them and for at most kIoQuota (the clock is read every
// kClockEvery handlers), and stops early for a due timer, run_for's end or stop().
//
// After a blocking run_one (after_block), the handlers the same epoll_wait completed are
// queued ahead of the reactor task: they run here rather than one loop turn each, and the
// drain stops before the reactor task (poll_one would run it as an epoll_wait(0)) and as
// soon as a coroutine is queued, so it runs next as before. When not blocking, the first
// poll_one may run the reactor task (one epoll_wait(0), like libuv's one-pass poll); the
// drain then stops when the reactor task comes round again, so each turn costs at most
// one extra system call, and a socket that keeps completing cannot hold the loop.
//
// An adopted io_context may be posted to by the application's threads: its queue is read
// under its lock. The hub's own is touched by this thread only, apart from post(), and a
// post never writes the queue's front while the reactor task is queued (the queue is not
// empty), so the unlocked read sees no concurrent write. Which entry is next comes from
// detail::OperationQueue (asio_private.hpp); without that access (another Asio release) it
// answers "the reactor task", and the drain runs plain Asio's pace: one handler after a
// blocking wait, one poll_one otherwise.
std::size_t Hub::drain_io(boost::asio::io_context& ctx, bool after_block,
                          std::optional<detail::Clock::time_point> until) {
  const auto turn_end = detail::Clock::now() + kIoQuota;
  std::size_t ran = 0;
  const bool adopted = own_ctx_ == nullptr;
  const detail::OperationQueue queue(ctx);
  while (ran < kDrainBudget) {
    // A stop() from the handler before (or from the run_one that preceded this drain)
    // ends the turn before the next handler runs.
    if (stop_requested_.load(std::memory_order_relaxed)) break;
    if ((after_block || ran > 0) && !queue.handler_next(adopted)) break;
    if (after_block && (ready_.size > 0 || root_->state == detail::FiberState::ready)) break;
    if (ctx.poll_one() == 0) break;
    ++ran;
    if (ran % kClockEvery == 0 && turn_over(turn_end, until)) break;
  }
  return ran;
}

void Hub::arm_wake_timer() {
  const detail::TimerNode* top = timers_.top();
  // A test clock's deadlines are not steady_clock's: the loop handles them itself.
  if (top == nullptr || detail::Clock::manual() != nullptr) {
    if (wake_armed_at_ != detail::Clock::time_point::max()) {
      wake_timer_->cancel();  // a pending wait would count as work and delay LoopExit
      wake_armed_at_ = detail::Clock::time_point::max();
    }
    return;
  }
  if (top->deadline >= wake_armed_at_) return;  // an earlier wake is already armed
  wake_armed_at_ = top->deadline;
  wake_timer_->expires_at(top->deadline);
  wake_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec != boost::asio::error::operation_aborted) {
      wake_armed_at_ = detail::Clock::time_point::max();
    }
  });
}

}  // namespace braid
