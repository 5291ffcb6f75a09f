// Everything braid needs from Asio that Asio keeps private, behind one interface: the
// scheduler's queue (the hub's bounded I/O drain), the reactor's descriptor (hosts that
// poll it), io_uring submission slots (a 1.81 bug), the process-wide signal state
// (fork). asio_private.cpp is the only file that names a private Asio member.
//
// Each access was checked against one Asio release (Boost 1.81). Built against another,
// or with BRAID_ASIO_PLAIN defined, every function below takes its plain-Asio fallback,
// documented with it: correct, but without what the private access buys.
// tests/runtime/asio_private_test.cpp pins which path this build took and its behaviour,
// so a Boost upgrade fails there first, by name.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/version.hpp>

#if BOOST_VERSION == 108100 && !defined(BRAID_ASIO_PLAIN)
#define BRAID_ASIO_PRIVATE 1
#else
#define BRAID_ASIO_PRIVATE 0
#endif

namespace braid::detail {
/// True when this build reads Asio's private members (BRAID_ASIO_PRIVATE).
bool asio_private_access() noexcept;

/// A view of `ctx`'s operation queue, made once per drain (finding the scheduler is a
/// locked service lookup, too slow per handler).
class OperationQueue {
 public:
  explicit OperationQueue(boost::asio::io_context& ctx) noexcept;
  /// Whether the next entry is a completed handler rather than the reactor task, i.e.
  /// whether poll_one() would run a handler without first calling epoll_wait(0). `lock`:
  /// take the scheduler's lock (an adopted io_context that other threads may post to).
  /// Fallback: false, so the drain runs one handler per turn after a blocking wait
  /// (plain Asio's run_one pace).
  bool handler_next(bool lock) const noexcept;

 private:
  void* scheduler_;  // boost::asio::detail::scheduler, or null in the fallback
};

/// The epoll instance (or io_uring ring) behind `ctx`, or -1 when the reactor has no
/// single descriptor. Fallback: -1.
int reactor_native_handle(boost::asio::io_context& ctx);

/// Called after another thread posts to `ctx` while its loop is not blocked inside Asio:
/// makes reactor_native_handle() readable for a host that sleeps on it. Asio wakes a thread
/// blocked inside the io_context itself, but after poll() its scheduler counts the reactor
/// as already interrupted and wakes nothing (epoll and io_uring alike). Fallback:
/// nothing (there is no descriptor to wake: reactor_native_handle() is -1).
void reactor_wake_host(boost::asio::io_context& ctx);

/// Called once per loop turn. On Asio's io_uring backend, zeroes the user data of the
/// submission-queue slots the kernel has consumed since the last call (see the .cpp for
/// why); elsewhere, and in the fallback, it does nothing.
void reactor_scrub_submissions(boost::asio::io_context& ctx) noexcept;

/// Called in a forked child. Asio keeps its signal handling in process-wide state: one
/// notification pipe, shared with the parent across fork(), and the parent's
/// registrations (whose io_contexts the child abandoned). Left alone, a signal sent to
/// the child is written into the pipe the parent also reads, so either process may take
/// it, and a SignalHandler made in the child never installs its handler (Asio counts the
/// parent's registrations). This forgets them: every signal Asio had caught gets its
/// default action back, and the child's first signal_set opens a pipe of its own.
/// Fallback: nothing (a forked child's signal handling then shares the parent's state).
void reactor_forget_signals_after_fork() noexcept;
}  // namespace braid::detail
