// The hub's timers: a binary min-heap of intrusive nodes with O(log n) removal, so the
// per-call timeouts that are armed and cancelled on every recv cost no allocation and
// leave no dead entries behind. One Asio timer is armed for the earliest deadline only.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace braid::detail {

using Clock = std::chrono::steady_clock;

/// A timer: when `deadline` passes, the hub calls `fire(arg)` on its own thread.
struct TimerNode {
  Clock::time_point deadline{};
  void (*fire)(void* arg) = nullptr;
  void* arg = nullptr;
  std::size_t index = kNotQueued;  // position in the heap, kNotQueued when not armed
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);
  bool queued() const noexcept { return index != kNotQueued; }
};

class TimerHeap {
 public:
  void push(TimerNode& node);
  void remove(TimerNode& node) noexcept;   // no-op when not queued
  TimerNode* top() const noexcept { return nodes_.empty() ? nullptr : nodes_.front(); }
  TimerNode* pop() noexcept;               // removes and returns the earliest
  bool empty() const noexcept { return nodes_.empty(); }
  std::size_t size() const noexcept { return nodes_.size(); }
  void clear() noexcept;

 private:
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void place(std::size_t i, TimerNode* n) noexcept {
    nodes_[i] = n;
    n->index = i;
  }
  std::vector<TimerNode*> nodes_;
};

}  // namespace braid::detail
