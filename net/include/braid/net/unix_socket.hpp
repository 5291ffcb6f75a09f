// UnixStream and UnixListener: Unix-domain stream sockets, in the style of TcpStream and
// TcpListener. A path starting with '@' names the Linux abstract namespace.
#pragma once

#include <braid/net/address.hpp>
#include <braid/net/detail/listener_core.hpp>
#include <braid/net/stream_socket.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace braid::net {

class UnixListener;

/// A connected Unix-domain stream socket: recv/send/sendall/recv_exact/read_some/...
/// as TcpStream. Move-only.
class UnixStream : public StreamSocket {
 public:
  UnixStream() noexcept = default;

  /// Connects to the socket at `path` ("@name": abstract namespace).
  /// @throws std::system_error  "connect /tmp/x.sock: No such file or directory", ...
  /// @throws TimeoutError
  static UnixStream connect(std::string_view path, std::optional<Duration> timeout = {});
  /// A connected pair (socketpair(2)), handy between coroutines and for tests.
  static std::pair<UnixStream, UnixStream> pair();

 private:
  friend class UnixListener;
  UnixStream(int fd, const detail::SockAddr& peer, const char* what)
      : StreamSocket(fd, peer, what) {}
};

/// A listening Unix-domain socket. Move-only. close() (and the destructor) remove the
/// socket file it created.
class UnixListener {
 public:
  UnixListener() noexcept = default;
  UnixListener(UnixListener&& other) noexcept;
  UnixListener& operator=(UnixListener&& other) noexcept;
  ~UnixListener() { close(); }

  /// Binds to `path` and listens. A stale socket file left by a dead process is not
  /// removed: pass `unlink_existing = true` to replace it.
  /// @throws std::system_error  "bind /tmp/x.sock: Address already in use", ...
  static UnixListener bind(std::string_view path, int backlog = 1024, bool unlink_existing = false);

  /// Waits for and accepts the next connection (as TcpListener::accept).
  UnixStream accept();
  /// Accepts a pending connection without parking; nullopt when none is pending.
  std::optional<UnixStream> try_accept();
  /// Closes the socket and removes its file (not for abstract names). Never throws.
  void close() noexcept;
  bool is_open() const noexcept { return core_.is_open(); }
  int native_handle() const noexcept { return core_.fd(); }
  const std::string& path() const noexcept { return path_; }
  void set_timeout(std::optional<Duration> t) noexcept { core_.set_timeout(t); }

 private:
  UnixListener(detail::ListenerCore core, std::string path)
      : core_(std::move(core)), path_(std::move(path)) {}
  detail::ListenerCore core_;  // descriptor and accept loop
  std::string path_;           // what bind() created ("" once closed)
};

}  // namespace braid::net
