// Asio keeps its reactor's descriptor private. Explicit template instantiation may name
// private members ([temp.explicit]/12), which lets us read it without patching Asio.
#include "../reactor_access.hpp"

#include <boost/asio/detail/config.hpp>
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#include <boost/asio/detail/io_uring_service.hpp>
#else
#include <boost/asio/detail/reactor.hpp>
#endif

namespace braid::detail {

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) || defined(BOOST_ASIO_HAS_EPOLL)
namespace {
template <typename Tag, typename Tag::type Member>
struct ExposeMember {
  friend typename Tag::type member_of(Tag) { return Member; }
};
}  // namespace
#endif

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
// The ring's descriptor polls readable while its completion queue holds entries, which is
// exactly when run_once()/poll() has work to collect.
namespace {
struct RingTag {
  using type = struct io_uring boost::asio::detail::io_uring_service::*;
  friend type member_of(RingTag);
};
template struct ExposeMember<RingTag, &boost::asio::detail::io_uring_service::ring_>;
}  // namespace

int reactor_native_handle(boost::asio::io_context& ctx) {
  auto& service = boost::asio::use_service<boost::asio::detail::io_uring_service>(ctx);
  return (service.*member_of(RingTag{})).ring_fd;
}

// interrupt() queues a no-op under the service's own lock; its completion makes the ring
// readable.
void reactor_wake_host(boost::asio::io_context& ctx) {
  boost::asio::use_service<boost::asio::detail::io_uring_service>(ctx).interrupt();
}
#elif defined(BOOST_ASIO_HAS_EPOLL)
namespace {
struct EpollFdTag {
  using type = int boost::asio::detail::epoll_reactor::*;
  friend type member_of(EpollFdTag);
};
template struct ExposeMember<EpollFdTag, &boost::asio::detail::epoll_reactor::epoll_fd_>;
}  // namespace

int reactor_native_handle(boost::asio::io_context& ctx) {
  auto& reactor = boost::asio::use_service<boost::asio::detail::epoll_reactor>(ctx);
  return reactor.*member_of(EpollFdTag{});
}

// interrupt() re-arms the reactor's eventfd (EPOLL_CTL_MOD), an edge the epoll set reports.
void reactor_wake_host(boost::asio::io_context& ctx) {
  boost::asio::use_service<boost::asio::detail::epoll_reactor>(ctx).interrupt();
}
#else
int reactor_native_handle(boost::asio::io_context&) { return -1; }
void reactor_wake_host(boost::asio::io_context&) {}
#endif

}  // namespace braid::detail
