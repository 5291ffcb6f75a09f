// TlsStream: TLS (OpenSSL, through Boost.Asio's ssl::stream) over braid's cooperative
// TcpStream. Opt-in: <braid/net.hpp> does not include it; include this header.
//
// What may switch: connect, client, accept, recv, recv_exact, send, sendall, read_some,
// write_some, shutdown. Each parks only the calling coroutine and honours set_timeout
// and enclosing braid::Timeout scopes; a kill (GreenletExit) unwinds them. close()
// never parks.
#pragma once

#include <braid/net/tcp_stream.hpp>
#include <braid/net/tls_context.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct ssl_st;  // OpenSSL's SSL

namespace braid::net {

/// A TLS connection over a TcpStream, client or server side (Python's ssl.SSLSocket as
/// gevent makes it cooperative). Move-only; the socket closes in the destructor at the
/// latest. The API mirrors TcpStream's (recv/send/sendall/recv_exact/set_timeout), and
/// it models Asio's SyncReadStream/SyncWriteStream (read_some/write_some), so Boost.Beast
/// runs over TLS too.
///
/// Clients verify the server by default: its chain against the context's CAs, and that
/// the certificate names the host given (a DNS name, or an IP address in its
/// subjectAltName). The host name also goes out as SNI.
///
/// A call interrupted by a kill, a timeout or an error while it was *sending* (send,
/// sendall, write_some, the handshake, shutdown) may leave half a TLS record on the
/// wire: the stream is then unusable, and later calls throw TlsError saying so. An
/// interrupted *receive* loses nothing: the next recv carries on.
/// @par Example
/// @code
///   auto ctx = braid::net::TlsContext::client();
///   auto s = braid::net::TlsStream::connect("example.com", 443, ctx, 10s);
///   s.sendall("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
///   std::string page;
///   while (true) { auto part = s.recv(4096); if (part.empty()) break; page += part; }
/// @endcode
class TlsStream {
 public:
  /// Asio's SyncReadStream/SyncWriteStream expect an executor; it is the hub's.
  using executor_type = TcpStream::executor_type;

  /// A closed stream.
  TlsStream() noexcept;
  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) noexcept;
  /// Closes the socket (no close_notify: that is shutdown(), which parks).
  ~TlsStream();

  /// TcpStream::connect, then client(). `timeout` bounds the whole call.
  /// @throws TlsError           the handshake failed ("TLS handshake with localhost
  ///                            (127.0.0.1:4433): certificate verify failed (hostname
  ///                            mismatch)").
  /// @throws std::system_error  the TCP connection failed (as TcpStream::connect).
  /// @throws TimeoutError       `timeout` passed, or an enclosing Timeout fired.
  static TlsStream connect(std::string_view host, std::uint16_t port, const TlsContext& ctx,
                           std::optional<Duration> timeout = {});
  /// The client handshake over a connected stream. `host` is what the server's
  /// certificate must name (when `ctx` verifies) and the SNI name (unless an IP address).
  /// @throws std::invalid_argument  `ctx` is a server context, or it verifies and `host`
  ///                                is empty.
  /// @throws TlsError, TimeoutError as connect().
  static TlsStream client(TcpStream stream, const TlsContext& ctx, std::string_view host,
                          std::optional<Duration> timeout = {});
  /// The server handshake over an accepted stream.
  /// @throws std::invalid_argument  `ctx` is a client context.
  /// @throws TlsError, TimeoutError as connect() ("TLS handshake with 127.0.0.1:40312:
  ///                                timed out after 10s" for a client that sends nothing).
  static TlsStream accept(TcpStream stream, const TlsContext& ctx,
                          std::optional<Duration> timeout = {});

  /// Receives at most `buf.size()` bytes of application data, parking until at least one
  /// byte is there. Returns 0 at the end of the stream: the peer's close_notify, or (as
  /// Python's suppress_ragged_eofs) a TCP close without one. read_some reports the
  /// latter as ssl::error::stream_truncated instead.
  /// @throws TlsError      "TLS recv from 127.0.0.1:4433: decryption failed or bad record
  ///                       mac", or a socket error (its errno in code()).
  /// @throws TimeoutError  set_timeout's limit passed, or an enclosing Timeout fired.
  std::size_t recv(std::span<char> buf);
  /// As recv(span), returning up to `max` bytes as a string (empty at the end).
  std::string recv(std::size_t max);
  /// Receives exactly `buf.size()` bytes.
  /// @throws EOFError  the stream ended first.
  void recv_exact(std::span<char> buf);
  /// Sends one TLS record's worth of `buf` (at most 16 KiB), parking while the socket
  /// is full. Returns the number of bytes taken.
  std::size_t send(std::span<const char> buf);
  /// Sends all of `data`. set_timeout's limit applies to the whole call.
  void sendall(std::string_view data);

  /// Ends TLS cleanly: sends close_notify and waits (bounded by `timeout`, else
  /// set_timeout's limit) for the peer's. A peer that closes the TCP connection instead
  /// counts as done. The socket stays open until close().
  /// @throws TlsError, TimeoutError.
  void shutdown(std::optional<Duration> timeout = {});
  /// Closes the socket without close_notify. Never throws; never parks.
  void close() noexcept;
  bool is_open() const noexcept;

  /// Limit for each later call (recv, send, sendall, recv_exact, read_some, write_some,
  /// shutdown): past it the call throws TimeoutError (the error_code forms report
  /// asio::error::timed_out). nullopt (the default) = no limit.
  void set_timeout(std::optional<Duration> t) noexcept { timeout_ = t; }
  std::optional<Duration> timeout() const noexcept { return timeout_; }

  /// The socket's descriptor (-1 when closed).
  int native_handle() const noexcept;
  /// OpenSSL's SSL object (null when closed), e.g. for SSL_get_peer_certificate.
  ssl_st* ssl_handle() const noexcept;
  /// The TCP stream underneath. Reading or writing it directly corrupts the TLS stream.
  TcpStream& next_layer();
  Address peer_address() const;
  Address local_address() const;
  /// The host a client verified and sent as SNI; on the server side, the SNI name the
  /// client sent ("" for none).
  std::string host_name() const;
  /// The negotiated protocol ("TLSv1.3") and cipher ("TLS_AES_256_GCM_SHA384").
  std::string protocol() const;
  std::string cipher() const;

  executor_type get_executor();

  /// SyncReadStream: reads application data into `buffers`, parking until at least one
  /// byte is there. @throws boost::system::system_error (asio::error::eof after the
  /// peer's close_notify, ssl::error::stream_truncated after a TCP close without one).
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec, "TLS read_some");
    return n;
  }
  /// SyncReadStream: as above; errors go to `ec`. A kill or an enclosing braid::Timeout
  /// still throws (GreenletExit / TimeoutError).
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    // TLS decrypts one record at a time: the first non-empty buffer is the one filled.
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() != 0) return read_buffer(b, ec);
    }
    return read_buffer(boost::asio::mutable_buffer(), ec);
  }
  /// SyncWriteStream: writes some of `buffers` (one TLS record at most).
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec, "TLS write_some");
    return n;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      if (b.size() != 0) return write_buffer(b, ec);
    }
    return write_buffer(boost::asio::const_buffer(), ec);
  }

 private:
  struct Impl;
  explicit TlsStream(std::unique_ptr<Impl> impl) noexcept;
  std::size_t read_buffer(boost::asio::mutable_buffer b, boost::system::error_code& ec);
  std::size_t write_buffer(boost::asio::const_buffer b, boost::system::error_code& ec);
  void handshake(bool server, std::optional<Duration> timeout);
  std::string describe(const char* op) const;
  void require_usable(const char* op) const;

  std::unique_ptr<Impl> impl_;       // the ssl::stream and its state; null when closed
  std::optional<Duration> timeout_;  // set_timeout's per-call limit
};

}  // namespace braid::net
