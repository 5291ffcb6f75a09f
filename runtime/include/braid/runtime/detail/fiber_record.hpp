// What the hub knows about one coroutine (or the thread's root context): its suspended
// continuation, its stack, why it is parked, and what interrupts are pending for it.
// Internal: used by coro/, net/ and process/, not part of the public API.
#pragma once

#include <boost/context/fiber.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace braid::detail {

enum class FiberState : std::uint8_t {
  created,  // spawned, never run; has no stack yet
  ready,    // in the ready queue (or, for the root, about to return from its wait)
  running,  // executing now
  parked,   // waiting; a wake or an interrupt makes it ready
  done,     // finished: returned, threw, or was killed
};

enum class Interrupt : std::uint8_t { none, kill, timeout };

/// What a parked context waits on, for LoopExit's message ("Event.wait", "fd 7 readable").
struct WaitInfo {
  const char* what = "unknown";
  long arg = -1;  // an fd or count, printed when >= 0
};

/// Called once when an interrupt (kill or timeout) reaches a parked context. It must
/// undo the wait's registration and make the context ready, now or soon (an Asio
/// operation: cancel it, and its completion handler wakes the context).
using CancelFn = void (*)(void* arg);

/// Extent of a coroutine stack carved by the stack pool.
struct StackSlot {
  char* base = nullptr;   // lowest usable address (just above the guard page)
  std::size_t size = 0;   // usable bytes
  char* guard = nullptr;  // the guard page below base
  std::size_t guard_size = 0;
  std::size_t slot_size = 0;  // size class it came from
};

class FiberRecord {
 public:
  FiberRecord() = default;
  FiberRecord(const FiberRecord&) = delete;
  FiberRecord& operator=(const FiberRecord&) = delete;
  virtual ~FiberRecord() = default;

  /// Runs the coroutine's body. Must not throw except boost's forced_unwind.
  virtual void run_body() {}
  /// Called on the coroutine's own stack right after run_body returns: wake joiners.
  virtual void on_finished() noexcept {}
  /// Called when a coroutine that never started is killed: record the kill, wake joiners.
  virtual void on_killed_before_start() noexcept {}

  std::uint64_t id = 0;
  mutable std::string name;  // empty until asked for: display_name() makes "Task-<id>"
  /// The name for messages; a task spawned without one is "Task-<id>" (built lazily, as
  /// formatting it on every spawn would cost more than the rest of spawn's bookkeeping).
  const std::string& display_name() const {
    if (name.empty() && !is_root) name = "Task-" + std::to_string(id);
    return name;
  }
  FiberState state = FiberState::created;
  bool is_root = false;        // the thread's own context (main), not a spawned coroutine
  std::size_t stack_size = 0;  // requested stack size, 0 = the global default

  // Scheduling.
  FiberRecord* next_ready = nullptr;  // ready-queue link
  boost::context::fiber cont;         // suspended continuation (empty while running)
  StackSlot stack;                    // this coroutine's stack, once started

  // Parking and interrupts.
  WaitInfo wait;
  CancelFn cancel = nullptr;  // see CancelFn
  void* cancel_arg = nullptr;
  Interrupt pending = Interrupt::none;   // delivered at the next switch point
  bool interrupting = false;             // cancel was called for the current park
  const void* timeout_source = nullptr;  // identity of the deadline that fired
  std::chrono::nanoseconds timeout_length{0};

  // Diagnostics (dump_coroutines): when the current park began (the loop turn's clock,
  // so it costs no clock read), who spawned it, and where (when spawn-stack capture is on).
  std::chrono::steady_clock::time_point parked_at{};
  std::uint64_t spawned_by = 0;
  std::unique_ptr<std::vector<void*>> spawn_frames;

  // Every live context is on the hub's list (LoopExit diagnostics, shutdown unwinding).
  FiberRecord* live_prev = nullptr;
  FiberRecord* live_next = nullptr;

  // Keeps the record alive while the hub may still resume it.
  std::shared_ptr<FiberRecord> keep_alive;

  void* greenlet_current = nullptr;  // braid::Greenlet running on this context, if any
  void* asan_fake_stack = nullptr;   // AddressSanitizer's fake-stack handle across switches
  // The stack the suspended continuation is on, when a Greenlet moved it off `stack`.
  const void* asan_stack_bottom = nullptr;
  std::size_t asan_stack_size = 0;
};

}  // namespace braid::detail
