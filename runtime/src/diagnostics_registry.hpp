// The diagnostics' view into hubs (Hub befriends DiagnosticsAccess): the registry of
// hubs the stall detector watches, spawn-stack capture, and the per-coroutine line shared
// by dump_coroutines() and LoopExit's message.
#pragma once

#include <braid/runtime/hub.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace braid::detail {

/// Whether spawns record their stack (capture_spawn_stacks, BRAID_SPAWN_STACKS).
extern std::atomic<bool> g_spawn_stacks;

struct DiagnosticsAccess {
  /// Called by each hub on its own thread when created / destroyed.
  static void register_hub(Hub& hub);
  static void unregister_hub(Hub& hub) noexcept;
  /// In a forked child: only this hub exists, and no watchdog thread.
  static void after_fork(Hub& hub) noexcept;

  static bool spawn_stacks_on() noexcept { return g_spawn_stacks.load(std::memory_order_relaxed); }
  /// Records the spawning stack into `f.spawn_frames`.
  static void capture_spawn(FiberRecord& f);

  /// The hub's live coroutines and its root, by id (to name who spawned whom).
  using LiveIndex = std::unordered_map<std::uint64_t, const FiberRecord*>;
  static LiveIndex index_live(const Hub& hub);
  /// "#7 'name' parked 1.20s on recv 7, spawned by #0 'main'" (state-dependent), for dumps
  /// and LoopExit.
  static std::string describe(const LiveIndex& live, const FiberRecord& f, Clock::time_point now);
  /// The whole dump of `hub`'s coroutines.
  static std::string format_all(const Hub& hub);

  // Read-only views of a hub's private state.
  static const FiberRecord* live_head(const Hub& hub) noexcept { return hub.live_head_; }
  static const FiberRecord& root(const Hub& hub) noexcept { return *hub.root_; }
  static const FiberRecord* current(const Hub& hub) noexcept { return hub.current_; }
  static HubHeartbeat& heartbeat(Hub& hub) noexcept { return hub.heartbeat_; }
  static HubMetrics& metrics(Hub& hub) noexcept { return hub.metrics_; }
  static std::size_t timers_pending(const Hub& hub) noexcept { return hub.timers_.size(); }
};

}  // namespace braid::detail
