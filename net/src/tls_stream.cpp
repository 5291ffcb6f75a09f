// TlsStream: Asio's ssl::stream driven synchronously over a cooperative TcpStream. Asio's
// synchronous TLS loop calls the next layer's read_some/write_some, which park only the
// calling coroutine, so the handshake and every record exchange are cooperative.
#include <braid/net/tls_stream.hpp>

#include "tls_error.hpp"

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/errors.hpp>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <fmt/format.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <stdexcept>

namespace braid::net {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

// Asio's ssl::stream asks its next layer for a lowest layer; a TcpStream is its own.
class Transport : public TcpStream {
 public:
  using lowest_layer_type = Transport;
  explicit Transport(TcpStream&& s) noexcept : TcpStream(std::move(s)) {}
  Transport& lowest_layer() noexcept { return *this; }
  const Transport& lowest_layer() const noexcept { return *this; }
};

// Runs op(ec) with `limit` over the whole call (a TLS operation may read and write the
// socket several times): asio::error::timed_out when it passed. A kill or an enclosing
// Timeout goes through as the exception it is.
template <class Op>
error_code within(std::optional<Duration> limit, Op&& op) {
  braid::detail::Deadline deadline(limit);
  error_code ec;
  try {
    op(ec);
  } catch (const TimeoutError& e) {
    if (deadline.id() == nullptr || e.source() != deadline.id()) throw;
    ec = boost::asio::error::timed_out;
  }
  return ec;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// SNI (names only: RFC 6066 forbids IP literals) and, when verifying, the name or
// address the server's certificate must carry (OpenSSL checks it during the handshake
// and reports a mismatch as its verify result).
void set_peer_name(SSL* ssl, const std::string& host, bool verify, const std::string& what) {
  const bool ip = is_ip_literal(host);
  if (!ip && !host.empty() && ::SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    detail::throw_tls(detail::last_ssl_error(), what + ": setting the SNI name");
  }
  if (!verify) return;
  X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl);
  ::X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = ip ? ::X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                    : ::X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (ok != 1) {
    throw std::invalid_argument(what + ": '" + host + "' is not a valid host name to verify");
  }
}

// A peer gone without its close_notify (shutdown() counts that as done).
bool hung_up(const error_code& ec) {
  return ec == boost::asio::error::eof || ec == ssl::error::stream_truncated ||
         ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe;
}

}  // namespace

struct TlsStream::Impl {
  Impl(TcpStream&& s, const TlsContext& ctx)
      : ssl(Transport(std::move(s)), ctx.asio_context()), verify(ctx.verifies()) {}

  ssl::stream<Transport> ssl;  // OpenSSL's state over the socket
  std::string host;            // client side: the name verified and sent as SNI
  bool verify = false;         // the context checks the peer's certificate
  bool shut = false;           // shutdown() ran: no more application data
  // The sending call (handshake, send...) that failed or was interrupted after OpenSSL
  // had produced a record it could not finish writing: the stream is unusable since.
  const char* broken = nullptr;
};

namespace {

// Marks the stream broken unless the sending call it guards completes.
class SendGuard {
 public:
  SendGuard(const char*& broken, const char* op) noexcept : broken_(broken), op_(op) {}
  SendGuard(const SendGuard&) = delete;
  SendGuard& operator=(const SendGuard&) = delete;
  ~SendGuard() {
    if (!done_) broken_ = op_;
  }
  void done() noexcept { done_ = true; }

 private:
  const char*& broken_;  // TlsStream::Impl::broken
  const char* op_;       // the call, for the message
  bool done_ = false;
};

}  // namespace

TlsStream::TlsStream() noexcept = default;
TlsStream::TlsStream(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
TlsStream::TlsStream(TlsStream&&) noexcept = default;
TlsStream& TlsStream::operator=(TlsStream&&) noexcept = default;
TlsStream::~TlsStream() = default;

TlsStream TlsStream::connect(std::string_view host, std::uint16_t port, const TlsContext& ctx,
                             std::optional<Duration> timeout) {
  if (ctx.is_server()) {
    throw std::invalid_argument("TlsStream::connect: a server context (TlsContext::server)");
  }
  const detail::CallDeadline deadline(timeout);
  TcpStream s = TcpStream::connect(host, port, timeout);
  return client(std::move(s), ctx, host, deadline.remaining());
}

TlsStream TlsStream::client(TcpStream stream, const TlsContext& ctx, std::string_view host,
                            std::optional<Duration> timeout) {
  if (ctx.is_server()) {
    throw std::invalid_argument("TlsStream::client: a server context (TlsContext::server)");
  }
  if (ctx.verifies() && host.empty()) {
    throw std::invalid_argument(
        "TlsStream::client: no host name to check the server's certificate against "
        "(TlsClientOptions::verify = false skips the check)");
  }
  if (!stream.is_open()) throw std::invalid_argument("TlsStream::client: the stream is closed");
  TlsStream t(std::make_unique<Impl>(std::move(stream), ctx));
  t.impl_->host = std::string(host);
  set_peer_name(t.impl_->ssl.native_handle(), t.impl_->host, ctx.verifies(),
                t.describe("TLS handshake with"));
  t.handshake(false, timeout);
  return t;
}

TlsStream TlsStream::accept(TcpStream stream, const TlsContext& ctx,
                            std::optional<Duration> timeout) {
  if (!ctx.is_server()) {
    throw std::invalid_argument("TlsStream::accept: a client context (TlsContext::client)");
  }
  if (!stream.is_open()) throw std::invalid_argument("TlsStream::accept: the stream is closed");
  TlsStream t(std::make_unique<Impl>(std::move(stream), ctx));
  t.handshake(true, timeout);
  return t;
}

void TlsStream::handshake(bool server, std::optional<Duration> timeout) {
  SendGuard guard(impl_->broken, "handshake");
  const error_code ec = within(timeout, [&](error_code& e) {
    impl_->ssl.handshake(server ? ssl::stream_base::server : ssl::stream_base::client, e);
  });
  if (ec == boost::asio::error::timed_out) {
    detail::throw_timeout(describe("TLS handshake with"), timeout);
  }
  if (ec) {
    // With verification on, OpenSSL stops at the first check that fails and keeps why.
    const long verify_result =
        impl_->verify ? ::SSL_get_verify_result(impl_->ssl.native_handle()) : X509_V_OK;
    detail::throw_tls(ec, describe("TLS handshake with"), verify_result);
  }
  guard.done();
}

std::string TlsStream::describe(const char* op) const {
  if (!impl_) return fmt::format("{} ? (closed TLS stream)", op);
  const Address peer = impl_->ssl.next_layer().peer_address();
  if (!impl_->host.empty() && impl_->host != peer.host) {
    return fmt::format("{} {} ({})", op, impl_->host, peer.to_string());
  }
  return fmt::format("{} {}", op, peer.to_string());
}

void TlsStream::require_usable(const char* op) const {
  if (!is_open()) {
    throw TlsError(std::make_error_code(std::errc::bad_file_descriptor),
                   describe(op) + ": the stream is closed");
  }
  if (impl_->broken != nullptr) {
    throw TlsError(std::make_error_code(std::errc::operation_canceled),
                   fmt::format("{}: the stream is unusable: an earlier {} failed or was "
                               "interrupted in the middle of a TLS record",
                               describe(op), impl_->broken));
  }
  if (impl_->shut) {
    throw TlsError(std::make_error_code(std::errc::not_connected),
                   describe(op) + ": TLS was shut down");
  }
}

std::size_t TlsStream::read_buffer(boost::asio::mutable_buffer b, error_code& ec) {
  ec.clear();
  if (!is_open()) {
    ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  if (b.size() == 0) return 0;
  // OpenSSL may hold whole records already decrypted: such a read returns without
  // parking, so it counts against the coroutine's slice like any non-parking call.
  Hub::current().cooperate();
  std::size_t n = 0;
  ec = within(timeout_, [&](error_code& e) { n = impl_->ssl.read_some(b, e); });
  return n;
}

std::size_t TlsStream::write_buffer(boost::asio::const_buffer b, error_code& ec) {
  ec.clear();
  if (!is_open()) {
    ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  if (impl_->broken != nullptr || impl_->shut) {
    ec = boost::asio::error::operation_aborted;
    return 0;
  }
  if (b.size() == 0) return 0;
  SendGuard guard(impl_->broken, "write_some");
  std::size_t n = 0;
  ec = within(timeout_, [&](error_code& e) { n = impl_->ssl.write_some(b, e); });
  if (!ec) guard.done();
  return n;
}

std::size_t TlsStream::recv(std::span<char> buf) {
  require_usable("TLS recv from");
  error_code ec;
  const std::size_t n = read_buffer(boost::asio::buffer(buf.data(), buf.size()), ec);
  if (!ec) return n;
  if (ec == boost::asio::error::eof || ec == ssl::error::stream_truncated) return 0;
  if (ec == boost::asio::error::timed_out) {
    detail::throw_timeout(describe("TLS recv from"), timeout_);
  }
  detail::throw_tls(ec, describe("TLS recv from"));
}

std::string TlsStream::recv(std::size_t max) {
  std::string out(max, '\0');
  out.resize(recv(std::span<char>(out)));
  return out;
}

void TlsStream::recv_exact(std::span<char> buf) {
  require_usable("TLS recv_exact from");
  std::size_t done = 0;
  const error_code ec = within(timeout_, [&](error_code& e) {
    while (done < buf.size()) {
      Hub::current().cooperate();
      const std::size_t n =
          impl_->ssl.read_some(boost::asio::buffer(buf.data() + done, buf.size() - done), e);
      if (e) return;
      done += n;
    }
  });
  if (!ec) return;
  if (ec == boost::asio::error::eof || ec == ssl::error::stream_truncated) {
    throw EOFError(fmt::format("{}: peer closed the stream after {} of {} bytes",
                               describe("TLS recv_exact from"), done, buf.size()));
  }
  if (ec == boost::asio::error::timed_out) {
    detail::throw_timeout(describe("TLS recv_exact from"), timeout_);
  }
  detail::throw_tls(ec, describe("TLS recv_exact from"));
}

std::size_t TlsStream::send(std::span<const char> buf) {
  require_usable("TLS send to");
  error_code ec;
  const std::size_t n = write_buffer(boost::asio::buffer(buf.data(), buf.size()), ec);
  if (!ec) return n;
  if (ec == boost::asio::error::timed_out) detail::throw_timeout(describe("TLS send to"), timeout_);
  detail::throw_tls(ec, describe("TLS send to"));
}

void TlsStream::sendall(std::string_view data) {
  require_usable("TLS sendall to");
  SendGuard guard(impl_->broken, "sendall");
  const error_code ec = within(timeout_, [&](error_code& e) {
    while (!data.empty()) {
      const std::size_t n = impl_->ssl.write_some(boost::asio::buffer(data), e);
      if (e) return;
      data.remove_prefix(n);
    }
  });
  if (ec == boost::asio::error::timed_out) {
    detail::throw_timeout(describe("TLS sendall to"), timeout_);
  }
  if (ec) detail::throw_tls(ec, describe("TLS sendall to"));
  guard.done();
}

void TlsStream::shutdown(std::optional<Duration> timeout) {
  require_usable("TLS shutdown with");
  const std::optional<Duration> limit = timeout ? timeout : timeout_;
  SendGuard guard(impl_->broken, "shutdown");
  error_code ec = within(limit, [&](error_code& e) { impl_->ssl.shutdown(e); });
  if (hung_up(ec)) ec.clear();
  if (ec == boost::asio::error::timed_out) {
    detail::throw_timeout(describe("TLS shutdown with"), limit);
  }
  if (ec) detail::throw_tls(ec, describe("TLS shutdown with"));
  guard.done();
  impl_->shut = true;
}

void TlsStream::close() noexcept {
  if (impl_) impl_->ssl.next_layer().close();
}

bool TlsStream::is_open() const noexcept { return impl_ && impl_->ssl.next_layer().is_open(); }

int TlsStream::native_handle() const noexcept {
  return impl_ ? impl_->ssl.next_layer().native_handle() : -1;
}

ssl_st* TlsStream::ssl_handle() const noexcept {
  return impl_ ? const_cast<ssl::stream<Transport>&>(impl_->ssl).native_handle() : nullptr;
}

TcpStream& TlsStream::next_layer() {
  if (!impl_) throw std::logic_error("TlsStream::next_layer: a closed, default-made stream");
  return impl_->ssl.next_layer();
}

Address TlsStream::peer_address() const {
  return impl_ ? impl_->ssl.next_layer().peer_address() : Address{};
}

Address TlsStream::local_address() const {
  if (!impl_) {
    throw TlsError(std::make_error_code(std::errc::bad_file_descriptor),
                   "getsockname for a closed TLS stream: the stream is closed");
  }
  return impl_->ssl.next_layer().local_address();
}

std::string TlsStream::host_name() const {
  if (!impl_) return {};
  if (!impl_->host.empty()) return impl_->host;
  const char* sni = ::SSL_get_servername(ssl_handle(), TLSEXT_NAMETYPE_host_name);
  return sni != nullptr ? sni : "";
}

std::string TlsStream::protocol() const { return impl_ ? ::SSL_get_version(ssl_handle()) : ""; }

std::string TlsStream::cipher() const {
  if (!impl_) return {};
  const char* name = ::SSL_get_cipher_name(ssl_handle());
  return name != nullptr ? name : "";
}

TlsStream::executor_type TlsStream::get_executor() {
  return Hub::current().context().get_executor();
}

}  // namespace braid::net
