// braid's error types. Every blocking call reports failure by throwing one of these
// (or std::system_error for operating-system errors, whose message names what was being
// done: "connect 127.0.0.1:9: Connection refused").
//
// What every parking call throws. A call that may park the calling coroutine (Event::wait,
// Semaphore::acquire, Task::join/get, joinall, Queue::get/put, sleep, recv/send,
// serve_forever, process::Lock::acquire, ...) throws, besides the errors its own
// documentation names:
//   GreenletExit      the caller was killed while parked (Task::kill, killall, a server's
//                     stop); catch-all handlers must rethrow it.
//   TimeoutError      an enclosing braid::Timeout fired. A call's own `timeout` argument
//                     makes it return false (or nullopt) instead, unless it says it throws.
//   LoopExit          called outside any coroutine (in main), and nothing left in the loop
//                     can ever wake the caller; the message lists what is still parked.
//   std::logic_error  called inside a hub callback (a timer or an Asio handler), where
//                     nothing may park.
// Headers refer to this block as "@throws the parking-call errors (errors.hpp)".
#pragma once

#include <stdexcept>

namespace braid {

class Timeout;

/// A braid::Timeout (or a call's own timeout argument) expired while the caller waited.
struct TimeoutError : std::runtime_error {
  using std::runtime_error::runtime_error;
  TimeoutError(const std::string& what, const void* source)
      : std::runtime_error(what), source_(source) {}
  /// True when `t` is the Timeout scope whose expiry raised this error. A Timeout
  /// belongs to its own scope: `catch (TimeoutError& e) { if (!e.fired_by(mine)) throw; }`.
  bool fired_by(const Timeout& t) const noexcept {
    return source_ == static_cast<const void*>(&t);
  }
  /// Identity of the deadline that fired (a Timeout, or a call's own timeout argument).
  const void* source() const noexcept { return source_; }

 private:
  const void* source_ = nullptr;
};

/// The caller waits on something that nothing left in the loop can ever make happen.
/// The message lists what is still parked and on what.
struct LoopExit : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Raised inside a coroutine by Task::kill() at its switch point. Deliberately not a
/// std::exception, so `catch (const std::exception&)` cannot swallow a kill (as gevent's
/// GreenletExit is a BaseException). Catch-all handlers must rethrow it.
struct GreenletExit {};

/// The peer closed the stream or pipe before the data asked for arrived.
struct EOFError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A bounded queue stayed full for the whole timeout (or try_put found it full).
struct QueueFull : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A queue stayed empty for the whole timeout (or try_get found it empty).
struct QueueEmpty : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace braid
