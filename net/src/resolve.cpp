// Name resolution through Asio's resolver. getaddrinfo blocks (DNS, /etc/hosts) and has no
// non-blocking form, so Asio runs it on its resolver thread (one per io_context, started
// on the first lookup, joined when the io_context goes) while the calling coroutine parks;
// the completion comes back through the hub's loop. Lookups from one hub run one after
// another on that thread. A lookup cannot be abandoned half-way, so a kill or an enclosing
// Timeout takes effect when it returns, as with to_thread.
#include "socket_ops.hpp"

#include <braid/runtime/hub.hpp>
#include <braid/runtime/wait.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <fmt/format.h>

#include <sys/socket.h>

#include <cstring>
#include <optional>
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
  const error_code ec = braid::detail::await_op(
      [&](auto handler) {
        resolver.async_resolve(name, std::to_string(port), flags, std::move(handler));
      },
      std::nullopt, braid::detail::WaitInfo{"resolve"}, &results);
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
