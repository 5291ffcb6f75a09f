// Timeout: a deadline for the calling coroutine, as a scope (gevent.Timeout).
#pragma once

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>

#include <type_traits>
#include <utility>

namespace braid {

/// While alive, any blocking call of the coroutine that created it throws TimeoutError
/// once `d` has passed (a call already parked is woken with it). Scopes nest: the
/// earliest deadline fires, and the error names its own scope (`e.fired_by(t)`), so an
/// inner handler can let an outer timeout through. Cancelled by its destructor.
/// @par Example
/// @code
///   try {
///     braid::Timeout limit(2s);
///     auto reply = conn.recv(buf);
///   } catch (const braid::TimeoutError&) { ... }
/// @endcode
class Timeout {
 public:
  explicit Timeout(Duration d) : deadline_(d, this) {}
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout() = default;

  /// Disarms it (a timeout not yet delivered is withdrawn).
  void cancel() noexcept { deadline_.cancel(); }
  /// True once the deadline has passed while the scope was armed.
  bool expired() const noexcept { return deadline_.fired(); }

 private:
  detail::Deadline deadline_;
};

/// Calls `f()` with a Timeout of `d` around it; TimeoutError if it takes longer.
template <class F>
auto with_timeout(Duration d, F&& f) -> std::invoke_result_t<F> {
  Timeout limit(d);
  return std::forward<F>(f)();
}

}  // namespace braid
