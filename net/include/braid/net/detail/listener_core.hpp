// Internal: the accept loop TcpListener and UnixListener share — parks on EAGAIN,
// retries aborted connections, and backs off (logging) on EMFILE/ENFILE.
#pragma once

#include <braid/net/detail/socket_handle.hpp>

#include <optional>
#include <string>

namespace braid::net::detail {

class ListenerCore {
 public:
  ListenerCore() noexcept = default;
  ListenerCore(int fd, std::string name);  // fd: bound, listening, non-blocking
  ListenerCore(ListenerCore&&) noexcept = default;
  ListenerCore& operator=(ListenerCore&&) noexcept = default;

  /// Accepts one connection (non-blocking, close-on-exec); its peer goes to `peer`.
  /// Parks while none is pending; on EMFILE/ENFILE/ENOBUFS/ENOMEM logs a warning and
  /// sleeps (10 ms doubling to 1 s) before retrying, so the server keeps serving.
  int accept(SockAddr& peer);
  /// Accepts one pending connection without parking: -1 when none is pending.
  int try_accept(SockAddr& peer);
  void close() noexcept { handle_.close(); }
  int release() noexcept { return handle_.release(); }
  bool is_open() const noexcept { return handle_.is_open(); }
  int fd() const noexcept { return handle_.fd(); }
  const std::string& name() const noexcept { return name_; }
  void set_timeout(std::optional<Duration> t) noexcept { timeout_ = t; }
  std::optional<Duration> timeout() const noexcept { return timeout_; }

 private:
  SocketHandle handle_;              // the listening descriptor
  std::string name_;                 // "127.0.0.1:8080" or the Unix path, for messages
  std::optional<Duration> timeout_;  // per-accept limit
};

}  // namespace braid::net::detail
