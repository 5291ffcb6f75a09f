// The descriptor of Asio's reactor, for hosts that poll it (Hub::native_handle).
#pragma once

#include <boost/asio/io_context.hpp>

namespace braid::detail {
/// The epoll instance behind `ctx`, or -1 when the reactor has no single descriptor.
int reactor_native_handle(boost::asio::io_context& ctx);

/// Called after another thread posts to `ctx`: makes reactor_native_handle() readable for
/// a host that sleeps on it. Asio wakes a thread blocked inside the io_context itself, but
/// after poll() its scheduler counts the reactor as already interrupted, and the io_uring
/// backend then posts nothing to the ring. Epoll's descriptor needs no help (tested).
void reactor_wake_host(boost::asio::io_context& ctx);
}  // namespace braid::detail
