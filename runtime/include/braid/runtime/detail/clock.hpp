// The one clock braid measures time on: every timer, sleep, Timeout, call deadline and
// loop quota reads detail::Clock::now(). It is std::chrono::steady_clock (same duration
// and time_point types), unless a test clock (braid::testing::ManualClock) is installed
// on the calling thread's hub; then it reads that clock's frozen time instead.
//
// Cost: now() is steady_clock::now() (a vDSO clock_gettime) plus one thread-local
// pointer test, never a virtual call: the loop reads the clock every few resumes and
// handlers. Internal: applications use std::chrono and braid's Duration.
#pragma once

#include <chrono>

namespace braid::detail {

struct ManualTime;

struct Clock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr bool is_steady = true;

  /// The time now: steady_clock's, or the installed test clock's.
  static time_point now() noexcept;
  /// The test clock installed on the calling thread, or nullptr (always, in production).
  static ManualTime* manual() noexcept;
};

/// A test clock's state, one per thread at most (a hub is one per thread): the time it
/// shows, and whether the hub's loop moves it to the next timer when it would otherwise
/// block. Owned by braid::testing::ManualClock; the hub's loop reads it.
struct ManualTime {
  Clock::time_point now;
  bool auto_advance = false;
};

/// Installs `t` as the calling thread's clock (nullptr: back to steady_clock).
void set_manual_time(ManualTime* t) noexcept;

}  // namespace braid::detail
