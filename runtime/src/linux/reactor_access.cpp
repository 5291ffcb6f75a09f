// Asio keeps its epoll descriptor private. Explicit template instantiation may name
// private members ([temp.explicit]/12), which lets us read it without patching Asio.
#include "../reactor_access.hpp"

#include <boost/asio/detail/reactor.hpp>

namespace braid::detail {

#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
namespace {
struct EpollFdTag {
  using type = int boost::asio::detail::epoll_reactor::*;
  friend type member_of(EpollFdTag);
};
template <typename Tag, typename Tag::type Member>
struct ExposeMember {
  friend typename Tag::type member_of(Tag) { return Member; }
};
template struct ExposeMember<EpollFdTag, &boost::asio::detail::epoll_reactor::epoll_fd_>;
}  // namespace

int reactor_native_handle(boost::asio::io_context& ctx) {
  auto& reactor = boost::asio::use_service<boost::asio::detail::epoll_reactor>(ctx);
  return reactor.*member_of(EpollFdTag{});
}
#else
int reactor_native_handle(boost::asio::io_context&) { return -1; }
#endif

}  // namespace braid::detail
