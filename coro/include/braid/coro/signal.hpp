// Signals as coroutine-friendly objects: gevent.signal_handler, and a wait that parks one
// coroutine until a signal arrives.
//
// Both ride on Asio's signal_set on the calling thread's hub. The operating system's
// handler only records the signal; braid code runs later, from the loop, so a handler may
// do anything a coroutine may (park, stop a server, log). Several handlers and waits on
// one signal each see every delivery (Asio multiplexes them), also across hubs.
//
// What keeps the loop alive: a registered SignalHandler is pending work for its hub, so
// Hub::run() does not return, and a blocking call in main (Event::wait, serve_forever)
// waits instead of throwing LoopExit, while it is registered -- as gevent.signal_handler
// does (the behaviour gevent users asked for in gevent#392). cancel() it, or let it go out
// of scope, when the program should be able to finish.
//
// While nothing in braid is registered for a signal, the signal has its default action
// (SIGINT and SIGTERM end the process); when the last registration goes, Asio restores
// SIG_DFL, not a handler installed before. So register before the signal can come, and
// prefer one SignalHandler to repeated wait_signal calls, between which the signal is not
// caught.
#pragma once

#include <braid/runtime/hub.hpp>

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>

namespace braid {

/// A registered signal handler (see signal_handler). Move-only; destroying it cancels
/// it. Use it on the thread whose hub it was registered with.
class SignalHandler {
 public:
  /// An empty handle: signum() is 0, cancel() does nothing.
  SignalHandler() noexcept = default;
  SignalHandler(SignalHandler&& other) noexcept = default;
  /// Cancels the handler this one held, then takes over `other`'s.
  SignalHandler& operator=(SignalHandler&& other) noexcept;
  SignalHandler(const SignalHandler&) = delete;
  SignalHandler& operator=(const SignalHandler&) = delete;
  ~SignalHandler() { cancel(); }

  /// Unregisters the handler: no later delivery starts `fn` (a run already started goes
  /// on), and the loop no longer counts it as work. Idempotent.
  void cancel() noexcept;
  /// The signal it handles; 0 for an empty handle.
  int signum() const noexcept;
  /// True from registration until cancel().
  bool active() const noexcept;

  struct State;  // defined in signal.cpp

 private:
  explicit SignalHandler(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
  friend SignalHandler signal_handler(int signum, std::function<void()> fn);

  std::shared_ptr<State> state_;
};

/// Runs `fn` in a new coroutine (named "signal_handler(SIGTERM)") each time `signum`
/// arrives, until the returned handle is cancelled or destroyed (gevent.signal_handler).
/// `fn` may park. An exception from `fn` is logged and the handler stays registered. The
/// registration keeps the hub's loop alive (see the top of this header).
///
/// @throws std::invalid_argument  `signum` is not a signal number (0, negative, NSIG or
///                                above) or cannot be caught (SIGKILL, SIGSTOP).
/// @throws std::system_error      the operating system refused the registration.
/// @par Example
/// @code
///   braid::net::StreamServer server("0.0.0.0", 8080, handle);
///   auto on_term = braid::signal_handler(SIGTERM, [&server] { server.stop(); });
///   server.serve_forever();   // returns once SIGTERM has stopped the server
/// @endcode
SignalHandler signal_handler(int signum, std::function<void()> fn);

/// Parks the calling coroutine until one of `signals` arrives and returns its number (as
/// sigwait, without blocking the signals). In main it runs the hub until then. A signal
/// that arrives while nobody waits (before the call, or between two calls) is not kept
/// for the next call: it has its default action unless a SignalHandler catches it.
///
/// @throws std::invalid_argument  `signals` is empty, or holds a number signal_handler
///                                rejects.
/// @throws TimeoutError           `timeout` elapsed, or an enclosing Timeout fired.
/// @throws GreenletExit           the coroutine was killed while waiting.
/// @par Example
/// @code
///   const int sig = braid::wait_signal({SIGINT, SIGTERM});
///   std::printf("got signal %d, shutting down\n", sig);
/// @endcode
int wait_signal(std::span<const int> signals, std::optional<Duration> timeout = {});
int wait_signal(std::initializer_list<int> signals, std::optional<Duration> timeout = {});

}  // namespace braid
