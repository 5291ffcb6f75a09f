// The hub's timers: a 4-ary min-heap of intrusive nodes with O(log n) removal, so the
// per-call timeouts that are armed and cancelled on every recv cost no allocation and
// leave no dead entries behind. One Asio timer is armed for the earliest deadline only.
#pragma once

#include <braid/runtime/detail/clock.hpp>

#include <cstddef>
#include <vector>

namespace braid::detail {

/// A timer: when `deadline` passes, the hub calls `fire(arg)` on its own thread.
struct TimerNode {
  Clock::time_point deadline{};
  void (*fire)(void* arg) = nullptr;
  void* arg = nullptr;
  std::size_t index = kNotQueued;  // position in the heap, kNotQueued when not armed
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);
  bool queued() const noexcept { return index != kNotQueued; }
};

/// A 4-ary min-heap (as Go's timers): shallower than a binary heap, and each entry keeps
/// its deadline beside the node pointer, so sifting compares without touching the nodes
/// (which live on the sleeping coroutines' stacks, all over memory).
class TimerHeap {
 public:
  void push(TimerNode& node);
  void remove(TimerNode& node) noexcept;  // no-op when not queued
  TimerNode* top() const noexcept { return entries_.empty() ? nullptr : entries_.front().node; }
  /// The earliest deadline; only when !empty().
  Clock::time_point top_deadline() const noexcept { return entries_.front().deadline; }
  TimerNode* pop() noexcept;  // removes and returns the earliest
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  void clear() noexcept;
  /// Forgets every entry without touching the nodes or freeing memory: a forked child's
  /// nodes belong to the parent's world, and writing to them costs copy-on-write faults.
  void abandon() noexcept { entries_.clear(); }

 private:
  struct Entry {
    Clock::time_point deadline;
    TimerNode* node;
  };
  static constexpr std::size_t kArity = 4;
  void sift_up(std::size_t i, Entry e) noexcept;
  void sift_down(std::size_t i, Entry e) noexcept;
  void place(std::size_t i, const Entry& e) noexcept {
    entries_[i] = e;
    e.node->index = i;
  }
  std::vector<Entry> entries_;
};

}  // namespace braid::detail
