// braid::testing::ManualClock: paused time for tests, as Tokio's `time::pause`.
//
// While one is installed on a thread's hub, every braid timer, sleep, Timeout, timeout
// argument and call deadline on that thread reads its time, which stands still until
// moved:
//
//   braid::testing::ManualClock clock;              // time stops now
//   auto t = braid::spawn([] { braid::sleep(1h); });
//   clock.advance(1h);                              // t's sleep ends, t runs, in order
//
//   braid::testing::ManualClock clock(braid::testing::ManualClock::Mode::auto_advance);
//   braid::sleep(1h);                               // returns at once: the clock jumped
//
// Modes:
// - manual: only advance() moves the clock. A wait that nothing but a timer could end
//   cannot end: the loop waits for I/O and other threads' posts alone, and a blocking
//   call in main that only a timer could wake throws LoopExit (nothing can call advance()
//   meanwhile). Hub::run_for() runs what is ready, as poll() does (its limit never comes).
// - auto_advance: when the loop would block (every coroutine parked, main waiting), it
//   first polls I/O with a zero timeout; when that runs no handler, the clock jumps to
//   the next timer and the timer fires. So `sleep(1h)` completes at once, in the same
//   order as in real time, and a timeout races only I/O that is ready now.
//
// Real I/O under either mode: sockets, pipes and child processes still complete in real
// time, so the clock does not wait for them. In auto_advance a wait for I/O with a
// timeout (recv with a timeout, Process::join(timeout), a Timeout around a socket wait)
// times out as soon as the loop finds no handler ready, even if the peer would answer a
// millisecond later; use it for timers and timeouts, and real time (or events) where the
// test depends on a peer's timing. Work on other threads (to_thread, HubThread) does not
// hold the clock back either. With no timer pending the loop blocks on I/O as usual.
//
// Scope: one clock per thread, so per hub. It starts at steady_clock's time of its
// installation (deadlines armed before stay comparable) and is removed by its destructor;
// real time then resumes, and deadlines set under the test clock keep their clock times
// (they fire when real time reaches them). Other threads keep real time. Install and
// remove it in main (outside coroutines); advance() may be called from main or from a
// coroutine on the clock's thread.
#pragma once

#include <braid/runtime/detail/clock.hpp>
#include <braid/runtime/hub.hpp>

namespace braid::testing {

class ManualClock {
 public:
  enum class Mode { manual, auto_advance };

  /// Installs the clock on the calling thread's hub (created if need be), stopped at
  /// steady_clock's time now. std::logic_error when the hub already has a test clock, or
  /// when called inside a coroutine or a hub callback.
  explicit ManualClock(Mode mode = Mode::manual);
  /// Uninstalls it: the thread's time is steady_clock's again.
  ~ManualClock();
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  /// The time the clock shows (what detail::Clock::now() returns on its thread).
  std::chrono::steady_clock::time_point now() const noexcept { return time_.now; }

  /// Moves the clock forward by `d`, stopping at each timer due on the way (in deadline
  /// order) and running the coroutines it wakes before going on, so each one sees the
  /// time its timer was set for; then runs what is due at the end. A switch point (it
  /// runs other coroutines; in a coroutine it may throw GreenletExit or TimeoutError).
  /// std::invalid_argument for a negative `d`; std::logic_error on another thread or
  /// inside a hub callback.
  void advance(Duration d);

  Mode mode() const noexcept { return time_.auto_advance ? Mode::auto_advance : Mode::manual; }
  /// Switches between manual and auto_advance.
  void set_mode(Mode mode) noexcept { time_.auto_advance = mode == Mode::auto_advance; }

 private:
  void require_own_thread(const char* what) const;

  detail::ManualTime time_;
  Hub* hub_;
};

}  // namespace braid::testing
