// The descriptor of Asio's reactor, for hosts that poll it (Hub::native_handle).
#pragma once

#include <boost/asio/io_context.hpp>

namespace braid::detail {
/// The epoll instance behind `ctx`, or -1 when the reactor has no single descriptor.
int reactor_native_handle(boost::asio::io_context& ctx);

/// Called after another thread posts to `ctx` while its loop is not blocked inside Asio:
/// makes reactor_native_handle() readable for a host that sleeps on it. Asio wakes a thread
/// blocked inside the io_context itself, but after poll() its scheduler counts the reactor
/// as already interrupted and wakes nothing (epoll and io_uring alike).
void reactor_wake_host(boost::asio::io_context& ctx);

/// Called once per loop turn. On Asio's io_uring backend, zeroes the user data of the
/// submission-queue slots the kernel has consumed since the last call (see the .cpp for
/// why); elsewhere it does nothing.
void reactor_scrub_submissions(boost::asio::io_context& ctx) noexcept;

/// Called in a forked child. Asio keeps its signal handling in process-wide state: one
/// notification pipe, shared with the parent across fork(), and the parent's
/// registrations (whose io_contexts the child abandoned). Left alone, a signal sent to
/// the child is written into the pipe the parent also reads, so either process may take
/// it, and a SignalHandler made in the child never installs its handler (Asio counts the
/// parent's registrations). This forgets them: every signal Asio had caught gets its
/// default action back, and the child's first signal_set opens a pipe of its own.
void reactor_forget_signals_after_fork() noexcept;
}  // namespace braid::detail
