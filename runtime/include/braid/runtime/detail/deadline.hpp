// A deadline for the running context: when it passes, the context receives a timeout
// interrupt at its switch point. braid::Timeout is one; blocking calls with a timeout
// argument arm one of their own and tell it apart by identity (Hub::park's own_deadline).
#pragma once

#include <braid/runtime/hub.hpp>

#include <optional>

namespace braid::detail {

class Deadline {
 public:
  /// Arms `d` from now for the running context (no-op for nullopt). `source` identifies
  /// the deadline in TimeoutError::source(); this object when null.
  explicit Deadline(std::optional<Duration> d, const void* source = nullptr);
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline() { cancel(); }

  /// Disarms it; a timeout it raised but that was not yet delivered is withdrawn.
  void cancel() noexcept;
  bool fired() const noexcept { return fired_; }
  /// What park() and TimeoutError use to recognise this deadline; null when unarmed.
  const void* id() const noexcept { return armed_ ? source_ : nullptr; }
  Duration length() const noexcept { return length_; }

 private:
  static void fire(void* self) noexcept;

  TimerNode node_;
  Hub* hub_ = nullptr;
  FiberRecord* owner_ = nullptr;
  const void* source_ = nullptr;
  Duration length_{};
  bool armed_ = false;
  bool fired_ = false;
};

}  // namespace braid::detail
