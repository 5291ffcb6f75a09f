// StreamSocket: what TcpStream and UnixStream share — a connected stream socket whose
// calls park only the calling coroutine, and which models Asio's SyncReadStream and
// SyncWriteStream so libraries written for blocking Asio streams (Boost.Beast) run on it.
// Its recv/send/sendall/set_timeout are the calls applications make on either stream.
#pragma once

#include <braid/net/address.hpp>
#include <braid/net/detail/socket_handle.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace braid::net {

/// The connected stream socket behind TcpStream and UnixStream: receive, send, half-close,
/// per-call timeouts and Asio's SyncReadStream/SyncWriteStream. Not built directly: a
/// stream comes from TcpStream::connect, UnixStream::connect or a listener's accept.
/// Move-only; the destructor closes it. Every receive or send parks only the calling
/// coroutine (in `main`, it runs the hub until it can return), and all of them throw
/// the parking-call errors (errors.hpp) as well as those listed.
/// @par Example
/// @code
///   std::string line = stream.recv(4096);   // "" at EOF
///   stream.set_timeout(5s);                 // each later call: TimeoutError past 5 s
///   stream.sendall("reply\n");
/// @endcode
class StreamSocket {
 public:
  /// Asio's SyncReadStream/SyncWriteStream expect an executor; it is the hub's.
  using executor_type = boost::asio::io_context::executor_type;

  /// A closed socket (use the derived classes' connect/accept to get an open one).
  StreamSocket() noexcept = default;
  StreamSocket(StreamSocket&&) noexcept = default;
  StreamSocket& operator=(StreamSocket&&) noexcept = default;

  /// Receives at most `buf.size()` bytes, parking until at least one byte (or EOF) is
  /// there. Returns 0 at orderly EOF (or for an empty `buf`).
  /// @throws TimeoutError       set_timeout's limit passed, or an enclosing Timeout fired.
  /// @throws std::system_error  e.g. "recv from 127.0.0.1:5555: Connection reset by peer".
  std::size_t recv(std::span<char> buf);
  /// As recv(span), returning up to `max` bytes as a string (empty at EOF), like Python's
  /// `sock.recv(max)`.
  std::string recv(std::size_t max);
  /// Receives exactly `buf.size()` bytes.
  /// @throws EOFError  the peer closed the stream first (the bytes read so far are lost).
  void recv_exact(std::span<char> buf);
  /// Sends what the kernel takes now (at least one byte unless `buf` is empty), parking
  /// while the send buffer is full. Returns the number of bytes sent.
  /// @throws std::system_error  e.g. "send to 127.0.0.1:5555: Broken pipe" (no SIGPIPE).
  std::size_t send(std::span<const char> buf);
  /// Sends all of `data`, parking as often as needed. set_timeout's limit applies to the
  /// whole call. On an exception an unknown prefix of `data` may have been sent.
  void sendall(std::string_view data);

  /// Half-close: the peer's recv() returns 0 once it has read everything; this side can
  /// still receive. @throws std::system_error (e.g. ENOTCONN).
  void shutdown_write();
  /// Closes the socket. Coroutines parked on it wake with an error. Never throws;
  /// closing a closed socket does nothing.
  void close() noexcept;
  bool is_open() const noexcept { return handle_.is_open(); }

  /// Limit for each later call (recv, send, sendall, recv_exact, read_some...): past it
  /// the call throws TimeoutError (the error_code forms report asio::error::timed_out).
  /// nullopt (the default) = no limit. Enclosing braid::Timeout scopes apply as well.
  void set_timeout(std::optional<Duration> t) noexcept { timeout_ = t; }
  std::optional<Duration> timeout() const noexcept { return timeout_; }

  int native_handle() const noexcept { return handle_.fd(); }
  /// The peer's address as it was when connected (still known after a reset).
  Address peer_address() const { return peer_.to_address(); }
  /// The local address (getsockname). @throws std::system_error on a closed socket.
  Address local_address() const;

  executor_type get_executor();

  /// SyncReadStream: reads into `buffers`, parking until at least one byte is there.
  /// @throws boost::system::system_error (asio::error::eof at EOF, as Asio streams do).
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec, "read_some");
    return n;
  }
  /// SyncReadStream: as above; errors (eof, timed_out, ...) go to `ec`. A kill or an
  /// enclosing braid::Timeout still throws (GreenletExit / TimeoutError).
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    std::array<boost::asio::mutable_buffer, kMaxBuffers> bufs;
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && n < bufs.size(); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() != 0) bufs[n++] = b;
    }
    return read_buffers(bufs.data(), n, ec);
  }
  /// SyncWriteStream: writes some of `buffers` (at least one byte), parking while full.
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec, "write_some");
    return n;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    std::array<boost::asio::const_buffer, kMaxBuffers> bufs;
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && n < bufs.size(); ++it) {
      boost::asio::const_buffer b(*it);
      if (b.size() != 0) bufs[n++] = b;
    }
    return write_buffers(bufs.data(), n, ec);
  }

 protected:
  /// Adopts a connected, non-blocking `fd` whose peer is `peer`.
  StreamSocket(int fd, const detail::SockAddr& peer, const char* what);
  const detail::SockAddr& peer() const noexcept { return peer_; }
  /// Connects the (fresh) socket to `to`, parking while in progress; errors in `ec`
  /// (asio::error::timed_out when `deadline` passed).
  void connect_to(const detail::SockAddr& to, const detail::CallDeadline& deadline,
                  boost::system::error_code& ec);

 private:
  static constexpr std::size_t kMaxBuffers = 16;  // iovecs per read_some/write_some

  std::size_t read_buffers(const boost::asio::mutable_buffer* bufs, std::size_t n,
                           boost::system::error_code& ec);
  std::size_t write_buffers(const boost::asio::const_buffer* bufs, std::size_t n,
                            boost::system::error_code& ec);
  std::size_t read_into(std::span<char> buf, std::optional<Duration> limit,
                        boost::system::error_code& ec);
  std::size_t read_seq(const boost::asio::mutable_buffer* bufs, std::size_t n,
                       std::optional<Duration> limit, boost::system::error_code& ec);
  std::size_t write_from(const boost::asio::const_buffer* bufs, std::size_t n,
                         const detail::CallDeadline& deadline, boost::system::error_code& ec);
  std::string describe(const char* op) const;
  void require_open(const char* op) const;

  detail::SocketHandle handle_;      // the descriptor and its reactor registration
  detail::SockAddr peer_;            // for messages and peer_address()
  std::optional<Duration> timeout_;  // set_timeout's per-call limit
  std::string unread_;               // bytes read by a call that then threw (rare)
};

}  // namespace braid::net
