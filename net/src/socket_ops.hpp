// Thin non-throwing wrappers over the socket syscalls: each turns errno into an error_code
// where the call returns, so callers never read errno themselves.
// Each returns a value, "would block" (-1 with `ec` clear) or an error in `ec`.
#pragma once

#include <braid/net/detail/socket_handle.hpp>

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

namespace braid::net::detail {

using boost::system::error_code;

/// errno as an error_code (system category, so messages read "Connection refused").
error_code last_error() noexcept;
error_code make_error(int err) noexcept;

/// socket(2), non-blocking and close-on-exec.
int open_socket(int family, int type, error_code& ec) noexcept;
/// connect(2) on a non-blocking socket: 0 = connected, 1 = in progress, -1 = `ec`.
int start_connect(int fd, const SockAddr& to, error_code& ec) noexcept;
/// The outcome of an in-progress connect (SO_ERROR).
error_code finish_connect(int fd) noexcept;
/// accept4(2) without blocking: the new fd (non-blocking, close-on-exec); -1 with `ec`
/// clear = would block; -1 with `ec` set.
int accept_nonblocking(int listen_fd, SockAddr& peer, error_code& ec) noexcept;
/// sendmsg(2) with MSG_NOSIGNAL (no SIGPIPE): bytes; -1 with `ec` clear = would block.
long send_iov(int fd, const iovec* iov, std::size_t n, const SockAddr* to, error_code& ec) noexcept;
/// send(2) of one buffer with MSG_NOSIGNAL: bytes; -1 with `ec` clear = would block.
long send_bytes(int fd, const void* data, std::size_t len, error_code& ec) noexcept;
/// recvfrom(2): bytes; -1 with `ec` clear = would block.
long recv_from(int fd, void* buf, std::size_t len, SockAddr* from, error_code& ec) noexcept;
/// bind(2) + listen(2) helpers.
bool bind_to(int fd, const SockAddr& addr, error_code& ec) noexcept;
bool listen_on(int fd, int backlog, error_code& ec) noexcept;
bool set_option(int fd, int level, int name, int value, error_code& ec) noexcept;
bool get_option(int fd, int level, int name, int& value, error_code& ec) noexcept;
/// Sets O_NONBLOCK and FD_CLOEXEC on a descriptor made elsewhere.
bool make_nonblocking_cloexec(int fd, error_code& ec) noexcept;
bool local_name(int fd, SockAddr& out, error_code& ec) noexcept;
bool shutdown_socket(int fd, int how, error_code& ec) noexcept;

/// A TCP socket (non-blocking, close-on-exec, SO_REUSEADDR; SO_REUSEPORT on request)
/// bound to `addr`, not listening yet. @throws std::system_error "bind 1.2.3.4:80: ...".
int bind_tcp_socket(const SockAddr& addr, bool reuse_port);

/// Parses a numeric IPv4/IPv6 host ("127.0.0.1", "::1", "[::1]"); "" = 0.0.0.0 when
/// `passive`. nullopt when `host` is a name.
std::optional<SockAddr> parse_numeric(std::string_view host, std::uint16_t port, bool passive);
/// Resolves `host` to the addresses to try, in getaddrinfo's order. Numeric hosts are
/// parsed in place; names go through Asio's resolver (getaddrinfo on its thread) while
/// the caller parks (resolve.cpp). `socktype` SOCK_DGRAM resolves for UDP, else TCP.
/// @throws std::system_error "resolve no.such.host: Host not found (authoritative)";
/// std::invalid_argument when the name holds a NUL byte.
std::vector<SockAddr> resolve(std::string_view host, std::uint16_t port, int socktype,
                              bool passive);
/// A Unix-domain address ('@' prefix = abstract). @throws std::invalid_argument when
/// the path is empty or too long.
SockAddr unix_address(std::string_view path);

}  // namespace braid::net::detail
