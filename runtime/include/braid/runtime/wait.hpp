// Waiting for descriptors and for Asio operations, parking only the calling coroutine.
#pragma once

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/hub.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <optional>

namespace braid {

/// Waits until `fd` is readable (or has an error or hang-up to report), parking only the
/// calling coroutine. Outside any coroutine (e.g. in `main`) it runs the hub until then.
/// `fd`'s blocking mode is left as it was (a blocking descriptor stays blocking).
///
/// @throws TimeoutError       `timeout` elapsed, or an enclosing braid::Timeout fired.
/// @throws std::system_error  `fd` is not an open descriptor (EBADF).
/// @par Example
/// @code
///   braid::wait_readable(pipe_fd, 5s);
///   auto n = ::read(pipe_fd, buf, sizeof buf);   // will not block now
/// @endcode
void wait_readable(int fd, std::optional<Duration> timeout = {});

/// Waits until `fd` is writable; as wait_readable.
void wait_writable(int fd, std::optional<Duration> timeout = {});

namespace detail {

/// Starts an Asio operation with `initiate(handler)` and parks the running context until
/// it completes. A kill, an enclosing Timeout or the expiry of `timeout` cancels exactly
/// this operation through its cancellation slot (others on the same object go on).
/// Returns the operation's error code, or boost::asio::error::timed_out when `timeout`
/// expired; throws GreenletExit or TimeoutError for a kill or an enclosing Timeout.
/// `Initiate` is called as initiate(CompletionHandler) where the handler accepts
/// (error_code) or (error_code, T); a value is stored into `*value` when non-null.
template <class Initiate, class Value = int>
boost::system::error_code await_op(Initiate&& initiate, std::optional<Duration> timeout,
                                   WaitInfo info, Value* value = nullptr) {
  Hub& hub = Hub::current();
  struct State {
    Hub* hub;
    FiberRecord* fiber;
    Value* value;
    boost::asio::cancellation_signal signal;
    boost::system::error_code ec;
    bool done = false;
  } st{&hub, &detail::Scheduling::running(hub), value, {}, {}, false};
  detail::Scheduling::check_can_block(hub, info);
  detail::Scheduling::check_interrupt(hub);
  auto complete = [&st](const boost::system::error_code& ec, auto&&... result) {
    st.ec = ec;
    if constexpr (sizeof...(result) == 1) {
      if (st.value != nullptr) *st.value = std::move(result...);
    }
    st.done = true;
    detail::Scheduling::wake_from_handler(*st.hub, *st.fiber);
  };
  std::forward<Initiate>(initiate)(
      boost::asio::bind_cancellation_slot(st.signal.slot(), std::move(complete)));
  Deadline deadline(timeout);
  auto cancel = [](void* p) noexcept {
    auto* s = static_cast<State*>(p);
    if (!s->done) s->signal.emit(boost::asio::cancellation_type::all);
  };
  // The handler refers to `st`. park() returns (or throws) only after a wake, and with
  // a pending operation only its handler wakes us, so `st` outlives the operation.
  const detail::ParkResult r =
      st.done ? detail::ParkResult::woken
              : detail::Scheduling::park(hub, info, cancel, &st, deadline.id());
  if (r == detail::ParkResult::timed_out) return boost::asio::error::timed_out;
  return st.ec;
}

/// Waits for readiness of `fd` (a dup of it, registered with the reactor for this wait
/// only, so descriptors Asio already watches work too). `what` names the call in errors.
void wait_fd(int fd, bool writable, std::optional<Duration> timeout, const char* what);

}  // namespace detail
}  // namespace braid
