#include <braid/net/detail/socket_handle.hpp>

#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/log.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <system_error>

namespace braid::net {

// Address and SockAddr formatting stay off fmt and inet_ntop's sprintf for IPv4: a
// handler that names its peer then keeps within the first page of its coroutine's stack
// (vfprintf alone takes 2 KiB of it).
std::string Address::to_string() const {
  if (port == 0 && (host.empty() || host.front() == '/' || host.front() == '@')) return host;
  const bool v6 = host.find(':') != std::string::npos;
  char digits[8];
  char* end = std::to_chars(digits, digits + sizeof digits, port).ptr;
  std::string out;
  out.reserve(host.size() + 8);
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out.append(digits, end);
  return out;
}

namespace detail {

Address SockAddr::to_address() const {
  Address out;
  if (len == 0) return out;
  char text[INET6_ADDRSTRLEN] = {};
  switch (storage.ss_family) {
    case AF_INET: {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
      const auto* octet = reinterpret_cast<const unsigned char*>(&a->sin_addr.s_addr);
      char* p = text;
      for (int i = 0; i < 4; ++i) {
        if (i > 0) *p++ = '.';
        p = std::to_chars(p, text + sizeof text, static_cast<unsigned>(octet[i])).ptr;
      }
      out.host.assign(text, p);
      out.port = ntohs(a->sin_port);
      break;
    }
    case AF_INET6: {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      out.host = text;
      out.port = ntohs(a->sin6_port);
      break;
    }
    case AF_UNIX: {
      const auto* a = reinterpret_cast<const sockaddr_un*>(&storage);
      const std::size_t n =
          len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
      if (n == 0) break;  // unnamed (a socketpair, or a client that never bound)
      if (a->sun_path[0] == '\0') {
        out.host = "@" + std::string(a->sun_path + 1, n - 1);
      } else {
        out.host = std::string(a->sun_path, ::strnlen(a->sun_path, n));
      }
      break;
    }
    default:
      break;
  }
  return out;
}

std::string SockAddr::to_string() const {
  if (len == 0) return "?";
  Address a = to_address();
  if (storage.ss_family == AF_UNIX && a.host.empty()) return "unnamed unix socket";
  return a.to_string();
}

SocketHandle::SocketHandle(int fd, const char* what) {
  boost::system::error_code ec;
  desc_.emplace(Hub::current().context());
  desc_->assign(fd, ec);
  if (ec) {
    ::close(fd);
    desc_.reset();
    throw_error(ec, fmt::format("{}: registering fd {} with the hub", what, fd));
  }
}

SocketHandle& SocketHandle::operator=(SocketHandle&& other) noexcept {
  if (this != &other) {
    close();
    desc_ = std::move(other.desc_);
  }
  return *this;
}

boost::system::error_code SocketHandle::wait(bool writable, std::optional<Duration> timeout,
                                             braid::detail::WaitInfo info) {
  if (!is_open()) return boost::asio::error::bad_descriptor;
  return braid::detail::await_ready(*desc_, writable, timeout, info);
}

void SocketHandle::close() noexcept {
  if (!desc_ || !desc_->is_open()) return;
  boost::system::error_code ec;
  desc_->close(ec);  // cancels pending waits (operation_aborted), then close(2)
  if (ec) braid::detail::log().warn("closing fd: {}", ec.message());
}

int SocketHandle::release() noexcept {
  if (!desc_ || !desc_->is_open()) return -1;
  const int fd = desc_->release();
  desc_.reset();
  return fd;
}

void throw_error(const boost::system::error_code& ec, const std::string& what) {
  // Boost.System codes convert to std::error_code (system errors keep
  // std::system_category, so e.code() == std::errc::connection_refused works).
  throw std::system_error(static_cast<std::error_code>(ec), what);
}

void throw_timeout(const std::string& what, std::optional<Duration> limit) {
  if (limit) {
    throw TimeoutError(
        fmt::format("{}: timed out after {}", what, braid::detail::format_duration(*limit)));
  }
  throw TimeoutError(what + ": timed out");
}

}  // namespace detail
}  // namespace braid::net
