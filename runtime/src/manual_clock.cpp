// braid::testing::ManualClock (testing/manual_clock.hpp). The hub's loop does the
// auto-advancing (Hub::poll_io); this file installs the clock and implements advance().
#include <braid/runtime/testing/manual_clock.hpp>

#include <braid/runtime/detail/format.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace braid::testing {
namespace {

// Rounds advance() spends running what is due at one instant: a coroutine that yields
// forever keeps something ready, and must not hold advance() for ever.
constexpr int kMaxRoundsPerInstant = 10'000;

// Runs loop turns (ready coroutines, due timers, ready I/O, never blocking) until nothing
// is ready or due at the clock's current time.
void run_due(Hub& hub) {
  for (int i = 0; i < kMaxRoundsPerInstant; ++i) {
    const auto next = hub.next_timeout();
    if (!next || *next > Duration::zero()) return;
    detail::Scheduling::yield(hub);
  }
}

}  // namespace

ManualClock::ManualClock(Mode mode) {
  Hub& hub = Hub::current();
  if (detail::Clock::manual() != nullptr) {
    throw std::logic_error(
        "braid::testing::ManualClock: this thread's hub already has a test clock installed "
        "(one clock per hub; destroy the first before installing another)");
  }
  if (hub.in_coroutine() || detail::Scheduling::in_hub_callback(hub)) {
    throw std::logic_error(
        "braid::testing::ManualClock: install the clock in main, outside coroutines and hub "
        "callbacks, so every coroutine runs on one timeline");
  }
  time_.now = std::chrono::steady_clock::now();
  time_.auto_advance = mode == Mode::auto_advance;
  hub_ = &hub;
  detail::set_manual_time(&time_);
}

ManualClock::~ManualClock() {
  if (detail::Clock::manual() == &time_) detail::set_manual_time(nullptr);
}

void ManualClock::require_own_thread(const char* what) const {
  if (detail::Clock::manual() != &time_ || Hub::current_if_any() != hub_) {
    throw std::logic_error(fmt::format(
        "braid::testing::ManualClock::{}: called on a thread the clock is not installed on", what));
  }
}

void ManualClock::advance(Duration d) {
  if (d < Duration::zero()) {
    throw std::invalid_argument(fmt::format(
        "braid::testing::ManualClock::advance: negative duration {} (time only moves forward)",
        detail::format_duration(d)));
  }
  require_own_thread("advance");
  if (detail::Scheduling::in_hub_callback(*hub_)) {
    throw std::logic_error(
        "braid::testing::ManualClock::advance inside a hub callback: it runs coroutines, so "
        "call it from main or a coroutine");
  }
  const auto target = time_.now + d;
  for (;;) {
    run_due(*hub_);
    const auto next = hub_->next_timeout();  // to the earliest timer: nothing is due now
    if (!next || *next > target - time_.now) break;
    time_.now += *next;
  }
  time_.now = target;
  run_due(*hub_);
}

}  // namespace braid::testing
