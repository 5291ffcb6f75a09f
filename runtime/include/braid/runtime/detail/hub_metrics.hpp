// The hub's counters behind Hub::stats(): plain increments on the hub's own thread, so
// keeping them costs a few stores per loop turn and one per switch or park.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace braid::detail {

struct HubMetrics {
  std::uint64_t turns = 0;
  std::uint64_t switches = 0;
  std::uint64_t spawned = 0;
  std::uint64_t peak_live = 0;
  std::uint64_t parks = 0;
  std::uint64_t timers_fired = 0;
  std::uint64_t io_handlers = 0;
  std::chrono::nanoseconds longest_turn{0};

  /// Parks counted by their WaitInfo::what pointer (a string literal at each call site):
  /// a small open-addressed table, so counting needs no hashing of text and no lock.
  struct KindCount {
    const char* what = nullptr;
    std::uint64_t count = 0;
  };
  static constexpr std::size_t kKinds = 64;  // a power of two
  std::array<KindCount, kKinds> park_kinds{};
  std::uint64_t parks_other = 0;  // kinds beyond the table's room

  void count_park(const char* what) noexcept {
    ++parks;
    const auto h = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(what) >> 3);
    for (std::size_t i = 0; i < kKinds; ++i) {
      KindCount& k = park_kinds[(h + i) & (kKinds - 1)];
      if (k.what == what) {
        ++k.count;
        return;
      }
      if (k.what == nullptr) {
        k.what = what;
        k.count = 1;
        return;
      }
    }
    ++parks_other;
  }

  /// How late the last kLagWindow timers ran, in nanoseconds (a ring).
  static constexpr std::size_t kLagWindow = 4096;
  std::array<std::int64_t, kLagWindow> lag_ns{};
  std::uint64_t lag_count = 0;  // samples ever taken; the ring holds the last kLagWindow

  void record_lag(std::chrono::nanoseconds late) noexcept {
    lag_ns[lag_count % kLagWindow] = late.count();
    ++lag_count;
  }
};

/// What the stall detector's thread reads of a hub, written by the hub's thread: a turn
/// counter that moves at the top of every loop turn, and whether the loop is running
/// (inside run(), poll(), a blocking call in main, or a coroutine) rather than waiting for
/// I/O or back in the application's own code.
struct HubHeartbeat {
  std::atomic<std::uint64_t> turns{0};
  std::atomic<bool> in_loop{false};

  /// On the hub's thread: the loop (re)starts running braid code. Only this thread writes
  /// `turns`, so a relaxed load and store make the increment.
  void beat() noexcept {
    turns.store(turns.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    in_loop.store(true, std::memory_order_relaxed);
  }
};

}  // namespace braid::detail
