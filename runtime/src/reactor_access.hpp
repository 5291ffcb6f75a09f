// The descriptor of Asio's reactor, for hosts that poll it (Hub::native_handle).
#pragma once

#include <boost/asio/io_context.hpp>

namespace braid::detail {
/// The epoll instance behind `ctx`, or -1 when the reactor has no single descriptor.
int reactor_native_handle(boost::asio::io_context& ctx);
}  // namespace braid::detail
