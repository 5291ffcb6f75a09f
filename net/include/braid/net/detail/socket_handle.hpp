// Internal: a non-blocking descriptor registered with the calling thread's hub, and
// the per-call deadline every socket operation runs under.
#pragma once

#include <braid/net/address.hpp>
#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/detail/fiber_record.hpp>
#include <braid/runtime/hub.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string>

#include <sys/socket.h>

namespace braid::net::detail {

/// A raw socket address (IPv4, IPv6 or Unix) kept for error messages and accessors.
struct SockAddr {
  sockaddr_storage storage{};  // the address itself
  socklen_t len = 0;           // bytes of `storage` in use; 0 = unknown

  Address to_address() const;
  /// "127.0.0.1:9", "[::1]:9", a Unix path, or "?" when unknown.
  std::string to_string() const;
};

/// When a socket call must give up: runtime's one call deadline.
using braid::detail::CallDeadline;

/// Owns one non-blocking, close-on-exec descriptor and its registration with the hub's
/// reactor (epoll, edge-triggered, registered once). Move-only.
class SocketHandle {
 public:
  /// The Asio object behind the handle. Its executor is the io_context's own, not the
  /// type-erased any_io_executor: every operation would otherwise dispatch through it.
  using Descriptor =
      boost::asio::posix::basic_stream_descriptor<boost::asio::io_context::executor_type>;

  SocketHandle() noexcept = default;
  /// Takes ownership of `fd` (already non-blocking) and registers it with the hub of the
  /// calling thread. On failure closes `fd` and throws std::system_error naming `what`.
  SocketHandle(int fd, const char* what);
  SocketHandle(SocketHandle&&) noexcept = default;
  SocketHandle& operator=(SocketHandle&& other) noexcept;
  ~SocketHandle() { close(); }

  bool is_open() const noexcept { return desc_.has_value() && desc_->is_open(); }
  int fd() const noexcept {
    // basic_descriptor::native_handle() is not const, although it only reads.
    return is_open() ? const_cast<Descriptor&>(*desc_).native_handle() : -1;
  }
  Descriptor& descriptor() { return *desc_; }
  const Descriptor& descriptor() const { return *desc_; }

  /// Parks until the descriptor is readable (or writable); error_code from the wait:
  /// boost::asio::error::timed_out when `timeout` passed, operation_aborted when the
  /// descriptor was closed meanwhile. Kill and enclosing Timeout throw.
  boost::system::error_code wait(bool writable, std::optional<Duration> timeout,
                                 braid::detail::WaitInfo info);

  /// Closes the descriptor; pending waits complete with operation_aborted. Never throws.
  void close() noexcept;
  /// Gives up ownership: deregisters the descriptor from the hub (pending waits complete
  /// with operation_aborted) and returns it, open; -1 when there is none.
  int release() noexcept;

 private:
  std::optional<Descriptor> desc_;  // registered descriptor
};

/// Throws std::system_error(ec) with "what: strerror" (ec from errno or Asio).
[[noreturn]] void throw_error(const boost::system::error_code& ec, const std::string& what);
/// Throws TimeoutError "what: timed out after 1.5s".
[[noreturn]] void throw_timeout(const std::string& what, std::optional<Duration> limit);

}  // namespace braid::net::detail
