// Name resolution through Asio's resolver. getaddrinfo blocks (DNS, /etc/hosts) and has no
// non-blocking form, so the resolver's synchronous resolve() runs on braid's thread pool
// (to_thread) while the calling coroutine parks. Not async_resolve: Asio runs those on one
// resolver thread per io_context, one after another, so a slow DNS answer would hold up
// every other lookup of the hub; the pool runs up to four at once. A lookup cannot be
// abandoned half-way, so a kill or an enclosing Timeout takes effect when it returns, as
// with to_thread.
#include "socket_ops.hpp"

#include <braid/runtime/hub.hpp>
#include <braid/runtime/thread.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <fmt/format.h>

#include <sys/socket.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace braid::net::detail {
namespace {

template <class Protocol>
std::vector<SockAddr> lookup(const std::string& name, std::uint16_t port, bool passive) {
  using Resolver = typename Protocol::resolver;
  typename Resolver::results_type results;
  Resolver resolver(Hub::current().context());
  // Not Asio's default (address_configured, AI_ADDRCONFIG): "localhost" must still give
  // ::1 and 127.0.0.1 on a host whose only addresses are loopback ones.
  auto flags = Resolver::numeric_service;
  if (passive) flags |= Resolver::passive;
  const std::string service = std::to_string(port);
  error_code ec;
  // The resolver object stays on this thread; resolve() only calls getaddrinfo and reads
  // nothing of the io_context, so the pool's thread may run it while we park.
  results = braid::to_thread([&] { return resolver.resolve(name, service, flags, ec); });
  const std::string what = fmt::format("resolve {}", name);
  if (ec) throw_error(ec, what);
  std::vector<SockAddr> addrs;
  for (const auto& entry : results) {
    const auto endpoint = entry.endpoint();
    if (endpoint.size() > sizeof(sockaddr_storage)) continue;
    SockAddr a;
    std::memcpy(&a.storage, endpoint.data(), endpoint.size());
    a.len = static_cast<socklen_t>(endpoint.size());
    addrs.push_back(a);
  }
  if (addrs.empty()) throw_error(boost::asio::error::host_not_found, what);
  return addrs;
}

}  // namespace

std::vector<SockAddr> resolve(std::string_view host, std::uint16_t port, int socktype,
                              bool passive) {
  if (auto a = parse_numeric(host, port, passive)) return {*a};
  std::string name(host);
  if (name.find('\0') != std::string::npos) {
    throw std::invalid_argument("resolve: host name contains a NUL byte");
  }
  if (socktype == SOCK_DGRAM) return lookup<boost::asio::ip::udp>(name, port, passive);
  return lookup<boost::asio::ip::tcp>(name, port, passive);
}

}  // namespace braid::net::detail
