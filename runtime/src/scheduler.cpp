// Switching between coroutines: resume, park, wake, interrupt (kill and timeouts), and
// the lifecycle of a coroutine from spawn to its last switch.
#include <braid/runtime/hub.hpp>

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/stack_pool.hpp>
#include <braid/runtime/log.hpp>

#include <braid/runtime/detail/sanitizer.hpp>

#include "diagnostics_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>

namespace braid {

using detail::FiberRecord;
using detail::FiberState;
using detail::Interrupt;

namespace {

// Coroutines beyond this many resumes in one go yield to timers and I/O.
constexpr std::size_t kReadyBudget = 256;
// The ready phase of one turn ends after this long (checked every kReadyClockEvery
// resumes), even if coroutines are still queued: see docs/design.md, "The scheduling
// contract".
constexpr auto kReadyQuota = std::chrono::microseconds(250);
constexpr std::size_t kReadyClockEvery = 8;

// Switches into the started coroutine `f` and returns when it switches back. Always
// inlined into the hub's loop (run_ready): a context switch leaves the CPU's
// return-address predictor out of step with the stack, so every `ret` executed between
// two switches is a mispredicted return (~13 ns each on the 2 GHz VM, as much as the bare
// switch pair itself). With the switch inline the hub's side executes none.
[[gnu::always_inline]] inline void switch_into(FiberRecord& f, FiberRecord*& current) {
  f.state = FiberState::running;
  FiberRecord* prev = current;
  current = &f;
  void* fake_stack = nullptr;
  if (f.asan_stack_bottom != nullptr) {  // suspended inside a Greenlet's stack
    detail::sanitizer::start_switch(&fake_stack, f.asan_stack_bottom, f.asan_stack_size);
  } else {
    detail::sanitizer::start_switch(&fake_stack, f.stack.base, f.stack.size);
  }
  f.cont = std::move(f.cont).resume();
  detail::sanitizer::finish_switch(fake_stack, nullptr, nullptr);
  current = prev;
}

// A finished coroutine's record may go once the hub holds no reference to it.
[[gnu::noinline]] void release_finished(FiberRecord& f) noexcept {
  auto last_ref = std::move(f.keep_alive);  // may destroy the record
}

}  // namespace

void Hub::ReadyQueue::push(FiberRecord* f) noexcept {
  f->next_ready = nullptr;
  if (tail == nullptr) {
    head = tail = f;
  } else {
    tail->next_ready = f;
    tail = f;
  }
  ++size;
}

FiberRecord* Hub::ReadyQueue::pop() noexcept {
  FiberRecord* f = head;
  if (f == nullptr) return nullptr;
  head = f->next_ready;
  if (head == nullptr) tail = nullptr;
  f->next_ready = nullptr;
  --size;
  return f;
}

std::size_t Hub::run_ready() {
  const std::size_t limit = std::max(ready_.size, kReadyBudget);
  std::size_t n = 0;
  detail::Clock::time_point phase_end{};
  while (n < limit) {
    if (n % kReadyClockEvery == 0 && n > 0) {
      const auto now = detail::Clock::now();
      if (n == kReadyClockEvery) {
        phase_end = now + kReadyQuota;  // short phases never read the clock
      } else if (now >= phase_end) {
        break;
      }
    }
    FiberRecord* f = ready_.pop();
    if (f == nullptr) break;
    ++n;
    slice_ops_ = 0;
    if (f->state != FiberState::ready) {  // first run, or killed before it ever ran
      resume(*f);
      continue;
    }
    ++metrics_.switches;
    switch_into(*f, current_);  // the common case, inline (see switch_into)
    if (f->state == FiberState::done) release_finished(*f);
  }
  return n;
}

void Hub::start(std::shared_ptr<FiberRecord> f) {
  FiberRecord& rec = *f;
  rec.keep_alive = std::move(f);
  rec.state = FiberState::created;
  rec.spawned_by = current_->id;
  ++metrics_.spawned;
  if (detail::DiagnosticsAccess::spawn_stacks_on()) detail::DiagnosticsAccess::capture_spawn(rec);
  link_live(rec);
  ready_.push(&rec);
}

void Hub::cancel_unstarted(FiberRecord& f) noexcept {
  if (f.state != FiberState::created) return;
  // It stays in the ready queue; resume() drops it without running it.
  f.state = FiberState::done;
  unlink_live(f);
  f.on_killed_before_start();
}

void Hub::resume(FiberRecord& f) {
  if (f.state == FiberState::done) {  // killed before it ever ran
    release_finished(f);
    return;
  }
  if (f.state == FiberState::created) {
    FiberRecord* rec = &f;
    f.cont = boost::context::fiber(
        std::allocator_arg, detail::PooledStack(f),
        [rec](boost::context::fiber&& sched) { return fiber_main(rec, std::move(sched)); });
  }
  ++metrics_.switches;
  switch_into(f, current_);
  if (f.state == FiberState::done) release_finished(f);
}

boost::context::fiber Hub::fiber_main(FiberRecord* f, boost::context::fiber&& sched) {
  Hub& hub = Hub::current();
  hub.sched_cont_ = std::move(sched);
  const void* from_bottom = nullptr;
  detail::sanitizer::finish_switch(f->asan_fake_stack, &from_bottom, &hub.sched_stack_size_);
  hub.sched_stack_bottom_ = const_cast<void*>(from_bottom);
  f->run_body();  // stores the result or exception; lets only forced_unwind through
  hub.finish(*f);
  detail::sanitizer::start_switch(nullptr, hub.sched_stack_bottom_, hub.sched_stack_size_);
  return std::move(hub.sched_cont_);
}

void Hub::finish(FiberRecord& f) noexcept {
  f.state = FiberState::done;
  f.pending = Interrupt::none;
  unlink_live(f);
  f.on_finished();
}

void Hub::switch_to_scheduler(FiberRecord& self) {
  detail::sanitizer::start_switch(&self.asan_fake_stack, sched_stack_bottom_, sched_stack_size_);
  sched_cont_ = std::move(sched_cont_).resume();
  const void* from_bottom = nullptr;
  detail::sanitizer::finish_switch(self.asan_fake_stack, &from_bottom, &sched_stack_size_);
  sched_stack_bottom_ = const_cast<void*>(from_bottom);
}

void Hub::check_can_block(const detail::WaitInfo& info) const {
  if (in_callback_ > 0) {
    throw std::logic_error(fmt::format(
        "braid: blocking call ({}) inside a hub callback; spawn a coroutine to block", info.what));
  }
}

Hub::ParkResult Hub::park(detail::WaitInfo info, detail::CancelFn cancel, void* cancel_arg,
                          const void* own_deadline) {
  check_can_block(info);
  FiberRecord& self = *current_;
  self.wait = info;
  // The turn's clock is recent enough for a coroutine; main may have run its own code
  // since the last turn.
  self.parked_at = self.is_root ? detail::Clock::now() : turn_started_;
  metrics_.count_park(info.what);
  self.cancel = cancel;
  self.cancel_arg = cancel_arg;
  self.state = FiberState::parked;
  self.interrupting = false;
  if (self.pending != Interrupt::none) {  // arrived while we were running: deliver now
    self.interrupting = true;
    cancel(cancel_arg);
  }
  if (self.is_root) {
    wait_in_root(self);
  } else {
    switch_to_scheduler(self);
  }
  self.cancel = nullptr;
  if (!self.interrupting) return ParkResult::woken;
  self.interrupting = false;
  if (self.pending == Interrupt::timeout && own_deadline != nullptr &&
      self.timeout_source == own_deadline) {
    self.pending = Interrupt::none;
    return ParkResult::timed_out;
  }
  if (self.pending == Interrupt::none) return ParkResult::woken;
  throw_interrupt(self);
}

void Hub::wait_in_root(FiberRecord& root) {
  while (root.state == FiberState::parked) {
    if (run_iteration(true, std::nullopt).alive) continue;
    if (root.state != FiberState::parked) break;
    // Nothing left in the loop can wake us: undo the registration and explain.
    std::string why = describe_parked();
    root.interrupting = true;  // cancel() may re-enter schedule(); keep the state consistent
    root.cancel(root.cancel_arg);
    root.interrupting = false;
    root.cancel = nullptr;
    root.state = FiberState::running;
    throw LoopExit(why);
  }
  root.state = FiberState::running;
}

void Hub::schedule(FiberRecord& f) noexcept {
  if (f.state != FiberState::parked) return;
  f.state = FiberState::ready;
  if (!f.is_root) ready_.push(&f);
}

void Hub::wake_from_handler(FiberRecord& f) noexcept {
  if (f.state != FiberState::parked) return;
  if (f.is_root || !in_reactor_ || resuming_inline_ || current_ != root_.get()) {
    schedule(f);
    return;
  }
  f.state = FiberState::ready;
  // The coroutine is not in a callback even though its handler is: let it park.
  const int saved_depth = std::exchange(in_callback_, 0);
  // Inside the handler that ended the loop's wait for I/O: a coroutine runs, so the stall
  // detector watches again.
  heartbeat_.in_loop.store(true, std::memory_order_relaxed);
  resuming_inline_ = true;
  slice_ops_ = 0;
  resume(f);
  resuming_inline_ = false;
  in_callback_ = saved_depth;
}

void Hub::interrupt(FiberRecord& f, Interrupt kind, const void* source,
                    std::chrono::nanoseconds length) noexcept {
  if (f.state == FiberState::done) return;
  if (kind == Interrupt::timeout && f.pending != Interrupt::none)
    return;  // first wins; kill outranks
  f.pending = kind;
  f.timeout_source = source;
  f.timeout_length = length;
  if (f.state == FiberState::parked && !f.interrupting) {
    f.interrupting = true;
    f.cancel(f.cancel_arg);
  }
}

void Hub::clear_timeout(FiberRecord& f, const void* source) noexcept {
  if (f.pending == Interrupt::timeout && f.timeout_source == source) {
    f.pending = Interrupt::none;
  }
}

void Hub::check_interrupt() {
  if (current_->pending != Interrupt::none) throw_interrupt(*current_);
}

void Hub::throw_interrupt(FiberRecord& self) {
  const Interrupt kind = self.pending;
  self.pending = Interrupt::none;
  if (kind == Interrupt::kill) throw GreenletExit{};
  throw TimeoutError(
      fmt::format("timed out after {}", detail::format_duration(self.timeout_length)),
      self.timeout_source);
}

void Hub::yield() {
  if (in_callback_ > 0) {
    throw std::logic_error("braid: yield inside a hub callback; spawn a coroutine instead");
  }
  check_interrupt();
  FiberRecord& self = *current_;
  slice_ops_ = 0;
  if (self.is_root) {
    run_iteration(false, std::nullopt);
  } else {
    self.state = FiberState::ready;
    ready_.push(&self);
    switch_to_scheduler(self);
  }
  check_interrupt();
}

void Hub::cooperate_slow() {
  if (in_callback_ > 0) {  // a handler or timer callback may not switch: let it finish
    slice_ops_ = 0;
    return;
  }
  yield();
}

void Hub::link_live(FiberRecord& f) noexcept {
  f.live_prev = nullptr;
  f.live_next = live_head_;
  if (live_head_ != nullptr) live_head_->live_prev = &f;
  live_head_ = &f;
  ++live_count_;
  if (live_count_ > metrics_.peak_live) metrics_.peak_live = live_count_;
}

void Hub::unlink_live(FiberRecord& f) noexcept {
  if (f.live_prev != nullptr) {
    f.live_prev->live_next = f.live_next;
  } else if (live_head_ == &f) {
    live_head_ = f.live_next;
  } else {
    return;  // not linked
  }
  if (f.live_next != nullptr) f.live_next->live_prev = f.live_prev;
  f.live_prev = f.live_next = nullptr;
  --live_count_;
}

// LoopExit's message: the waiting context, then the parked coroutines as
// dump_coroutines() describes them ("#3 'reader#3' parked 2.1s on Queue.get, spawned by
// #0 'main'").
std::string Hub::describe_parked() const {
  const auto now = detail::Clock::now();
  std::string what = current_->wait.what;
  if (current_->wait.arg >= 0) what += fmt::format(" {}", current_->wait.arg);
  std::string out =
      fmt::format("would block forever: '{}' waits on {}", current_->display_name(), what);
  std::size_t parked = 0;
  std::string list;
  const auto live = detail::DiagnosticsAccess::index_live(*this);
  for (const FiberRecord* f = live_head_; f != nullptr; f = f->live_next) {
    if (f->state != FiberState::parked) continue;
    if (++parked <= 8) {
      list += (parked > 1 ? "; " : "") + detail::DiagnosticsAccess::describe(live, *f, now);
    }
  }
  if (const detail::ManualTime* manual = detail::Clock::manual();
      manual != nullptr && !manual->auto_advance && !timers_.empty()) {
    out += fmt::format(
        " ({} timer(s) pending on a stopped testing::ManualClock: advance() it, or use "
        "auto_advance)",
        timers_.size());
  }
  if (parked == 0) return out + "; no coroutine is alive to wake it";
  out += fmt::format("; {} coroutine(s) parked with nothing left to wake them: {}", parked, list);
  if (parked > 8) out += "; ...";
  return out;
}

// Kills every live coroutine and runs the loop until they have unwound. A coroutine that
// swallows GreenletExit and parks again is abandoned after a bounded number of rounds.
void Hub::unwind_all() noexcept {
  try {
    for (int round = 0; live_head_ != nullptr && round < 50; ++round) {
      for (FiberRecord* f = live_head_; f != nullptr;) {
        FiberRecord* next = f->live_next;
        if (f->state == FiberState::created) {
          cancel_unstarted(*f);
        } else {
          interrupt(*f, Interrupt::kill);
        }
        f = next;
      }
      for (int i = 0; i < 100 && live_head_ != nullptr; ++i) {
        run_iteration(false, std::nullopt);
      }
    }
    // Records still queued are finished ones (killed before they started) or abandoned;
    // the queue's reference to a finished one is its last.
    while (FiberRecord* f = ready_.pop()) {
      if (f->state == FiberState::done) auto last_ref = std::move(f->keep_alive);
    }
  } catch (const std::exception& e) {
    detail::log().error("hub shutdown: {}", e.what());
  } catch (...) {
    detail::log().error("hub shutdown: unknown exception");
  }
  if (live_count_ > 0) {
    detail::log().warn("hub shutdown: {} coroutine(s) would not die and were abandoned",
                       live_count_);
  }
}

void Hub::reset_after_fork() {
  // Everything below belongs to the parent's world. Its destructors would act on
  // descriptors the child shares with the parent (epoll, timerfd), so it is leaked on
  // purpose: the child runs its target and leaves with _exit. Nothing here allocates or
  // frees, and the io_context is built on first use (context()): a child that only
  // computes and exits never creates an epoll instance, and every page it does not write
  // is a copy-on-write fault it does not take.
  (void)own_ctx_.release();
  (void)wake_timer_.release();
  ctx_.store(nullptr, std::memory_order_relaxed);
  if (sched_cont_) (void)new boost::context::fiber(std::move(sched_cont_));
  live_head_ = nullptr;
  live_count_ = 0;
  ready_ = ReadyQueue{};
  timers_.abandon();
  watchers_ = nullptr;  // registered with the parent's reactor: each drops its own later
  wake_armed_at_ = detail::Clock::time_point::max();
  in_callback_ = 0;
  stop_requested_ = false;
  detail::DiagnosticsAccess::after_fork(*this);
  if (current_ == root_.get()) {
    // Forked from the root: it stays the root, with nothing pending from the parent.
    std::string name = std::move(root_->name);
    root_->~FiberRecord();
    new (root_.get()) FiberRecord();
    root_->name = std::move(name);
  } else {
    // Forked inside a coroutine: its context becomes the child's root, under its name.
    std::string name = current_->display_name();
    (void)root_.release();
    root_ = std::make_unique<FiberRecord>();
    root_->name = std::move(name);
  }
  root_->is_root = true;
  root_->state = FiberState::running;
  current_ = root_.get();
  // Another thread of the parent may have held the mailbox's lock at the fork; no such
  // thread exists here, so the lock starts afresh. Posts still reach this hub.
  new (&mailbox_->mutex) std::mutex();
}

}  // namespace braid
