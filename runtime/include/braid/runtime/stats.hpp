// What a hub has done and how it is doing: counters and loop lag, read with Hub::stats().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace braid {

/// A snapshot of one hub's counters (Hub::stats()). Counters run from the hub's creation;
/// the lag and turn figures cover the last `lag_samples` timers and the longest turn since
/// the previous stats(true) call.
struct HubStats {
  using Duration = std::chrono::steady_clock::duration;

  std::uint64_t turns = 0;           // loop turns (one ready, timer and I/O phase each)
  std::uint64_t switches = 0;        // switches into a coroutine
  std::uint64_t spawned = 0;         // coroutines started
  std::uint64_t live = 0;            // coroutines alive now (spawned, not finished)
  std::uint64_t peak_live = 0;       // the most alive at once
  std::uint64_t parks = 0;           // waits that parked a coroutine (or the root)
  std::uint64_t timers_pending = 0;  // braid timers armed now (sleeps, timeouts)
  std::uint64_t timers_fired = 0;    // braid timers that have fired
  std::uint64_t io_handlers = 0;     // Asio completion handlers the loop ran
  /// Parks by what was waited on ("recv", "sleep", "Event.wait", ...), most first.
  std::vector<std::pair<std::string, std::uint64_t>> parks_by_kind;

  /// Loop lag: how late each timer ran after its deadline, over the last `lag_samples`
  /// timers (at most 4096). All zero when no timer fired yet.
  Duration lag_p50{};
  Duration lag_p99{};
  Duration lag_max{};
  std::uint64_t lag_samples = 0;
  /// The longest turn (time the loop spent running coroutines and handlers between two
  /// returns to its top, waits for I/O excluded).
  Duration longest_turn{};
};

}  // namespace braid
