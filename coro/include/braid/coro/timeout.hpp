// Timeout: a deadline for the calling coroutine, as a scope (gevent.Timeout).
#pragma once

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace braid {

/// While armed, any blocking call of the coroutine that armed it throws TimeoutError
/// once its length has passed (a call already parked is woken with it). Scopes nest: the
/// earliest deadline fires, and the error names its own scope (`e.fired_by(t)`), so an
/// inner handler can let an outer timeout through. Cancelled by its destructor.
///
/// `Timeout(d)` arms at once (gevent's Timeout.start_new); `Timeout(d, Timeout::unstarted)`
/// waits for start() (gevent's Timeout(seconds)). After cancel() or expiry, start() arms
/// it again, for the coroutine calling start(), `d` from then.
/// @par Example
/// @code
///   try {
///     braid::Timeout limit(2s);
///     auto reply = conn.recv(buf);
///   } catch (const braid::TimeoutError&) { ... }
/// @endcode
class Timeout {
 public:
  struct Unstarted {};
  /// Tag for a Timeout that start() arms later.
  static constexpr Unstarted unstarted{};

  /// Armed for the calling coroutine: `d` from now.
  explicit Timeout(Duration d) : length_(d) { start(); }
  /// Not armed until start().
  Timeout(Duration d, Unstarted) noexcept : length_(d) {}
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout() = default;

  /// Arms it for the calling coroutine, length() from now; expired() is false again.
  /// std::logic_error while pending() (gevent: cancel it first).
  void start();
  /// Disarms it (a timeout not yet delivered is withdrawn). Harmless when not armed.
  void cancel() noexcept {
    if (deadline_) deadline_->cancel();
    owner_.reset();
  }
  /// True while armed and not yet expired (gevent's Timeout.pending).
  bool pending() const noexcept {
    return deadline_ && deadline_->id() != nullptr && !deadline_->fired();
  }
  /// True once the deadline of the latest start() has passed while armed.
  bool expired() const noexcept { return deadline_ && deadline_->fired(); }
  /// The delay start() arms (gevent's Timeout.seconds).
  Duration length() const noexcept { return length_; }

 private:
  Duration length_;
  // The coroutine that armed it, kept alive while the deadline may still touch it: a
  // Timeout can outlive that coroutine (armed by start() in another coroutine, or held
  // by an object). Declared before deadline_, so it is released after it.
  std::shared_ptr<detail::FiberRecord> owner_;
  // Re-created by each start(): a Deadline is armed by its constructor. Destroying the
  // previous one withdraws a timeout it raised that was not yet delivered.
  std::optional<detail::Deadline> deadline_;
};

inline void Timeout::start() {
  if (pending()) {
    throw std::logic_error("Timeout.start: already pending; cancel() it before starting again");
  }
  deadline_.reset();
  owner_ =
      detail::Scheduling::running(Hub::current()).keep_alive;  // null for the root: it outlives us
  deadline_.emplace(length_, this);
}

/// Calls `f()` with a Timeout of `d` around it; TimeoutError if it takes longer.
template <class F>
auto with_timeout(Duration d, F&& f) -> std::invoke_result_t<F> {
  Timeout limit(d);
  return std::forward<F>(f)();
}

/// gevent.with_timeout(..., timeout_value=v): as above, but when this call's own timeout
/// expires it returns `timeout_value` instead of throwing. A TimeoutError of an enclosing
/// Timeout still propagates.
template <class F, class V>
requires(!std::is_void_v<std::invoke_result_t<F>> &&
         std::is_convertible_v<V, std::invoke_result_t<F>>) auto with_timeout(Duration d, F&& f,
                                                                              V&& timeout_value)
    -> std::invoke_result_t<F> {
  Timeout limit(d);
  try {
    return std::forward<F>(f)();
  } catch (const TimeoutError& e) {
    if (!e.fired_by(limit)) throw;
    return std::forward<V>(timeout_value);
  }
}

}  // namespace braid
