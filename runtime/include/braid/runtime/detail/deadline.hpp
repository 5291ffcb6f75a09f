// Deadlines. CallDeadline: when a blocking call that waits in several steps (a retry
// loop, a join of many tasks, a connect then a send) must give up, computed once from
// the call's timeout so each step waits only for what is left. Deadline: a timer for
// the running context whose expiry interrupts it at its switch point (braid::Timeout is
// one; blocking calls tell their own apart by identity, Hub::park's own_deadline).
#pragma once

#include <braid/runtime/detail/clock.hpp>
#include <braid/runtime/hub.hpp>

#include <optional>

namespace braid::detail {

/// The one per-call deadline of every module: `timeout` after construction, or none.
/// Each wait of the call is given remaining(), so the call as a whole keeps to
/// `timeout`; an enclosing braid::Timeout still fires on its own. Time is detail::Clock.
class CallDeadline {
 public:
  /// No limit.
  CallDeadline() noexcept = default;
  explicit CallDeadline(std::optional<Duration> timeout) noexcept
      : limit_(timeout), at_(timeout ? std::optional(Clock::now() + *timeout) : std::nullopt) {}
  /// A deadline at an absolute time (limit() is then nullopt: there is no call timeout
  /// to name in an error).
  static CallDeadline at(Clock::time_point when) noexcept {
    CallDeadline d;
    d.at_ = when;
    return d;
  }

  /// Time left, never negative; nullopt = no limit.
  std::optional<Duration> remaining() const noexcept {
    if (!at_) return std::nullopt;
    const auto left = *at_ - Clock::now();
    return left > Duration::zero() ? left : Duration::zero();
  }
  /// True once the deadline has passed (never without one).
  bool passed() const noexcept { return at_ && Clock::now() >= *at_; }
  /// remaining(), capped at `cap` (a wait that must also look up now and then).
  Duration slice(Duration cap) const noexcept {
    const auto left = remaining();
    return left && *left < cap ? *left : cap;
  }
  /// The timeout the call was given (for "timed out after 1.5s" messages).
  std::optional<Duration> limit() const noexcept { return limit_; }
  /// When it expires; nullopt = never.
  std::optional<Clock::time_point> expiry() const noexcept { return at_; }

 private:
  std::optional<Duration> limit_;
  std::optional<Clock::time_point> at_;
};

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
