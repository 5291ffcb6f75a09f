// TlsContext: the TLS configuration (OpenSSL's SSL_CTX) that TlsStreams and a TLS
// StreamServer are made with. Opt-in: include <braid/net/tls_stream.hpp>.
#pragma once

#include <memory>
#include <string>
#include <system_error>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace boost::asio::ssl {
class context;
}

namespace braid::net {

/// A TLS operation failed. The message says what, with whom and why:
/// "TLS handshake with 127.0.0.1:4433: certificate verify failed (self-signed
/// certificate)". code() is the OpenSSL error (Asio's ssl category), or the errno of a
/// socket failure underneath (e.g. std::errc::connection_reset).
class TlsError : public std::system_error {
 public:
  /// `message` is the whole of what(): the code's own text is not appended to it.
  TlsError(std::error_code code, const std::string& message, long verify_result = 0)
      : std::system_error(code, message),
        message_(std::make_shared<const std::string>(message)),
        verify_result_(verify_result) {}
  const char* what() const noexcept override { return message_->c_str(); }
  /// OpenSSL's certificate verification result (X509_V_OK = 0, or an X509_V_ERR_* such
  /// as X509_V_ERR_HOSTNAME_MISMATCH) when a handshake failed on it; 0 otherwise.
  long verify_result() const noexcept { return verify_result_; }

 private:
  std::shared_ptr<const std::string> message_;  // shared: copying must not throw
  long verify_result_;                          // X509_V_*
};

/// How a client checks the servers it talks to.
struct TlsClientOptions {
  /// Check the server's certificate chain and that it names the host connected to (the
  /// default, as in Python's ssl.create_default_context()). Turning it off accepts any
  /// certificate: only for tests or a peer authenticated another way.
  bool verify = true;
  /// PEM file of trusted CA certificates. With neither this nor ca_dir, the system's
  /// default store (Debian: /etc/ssl/certs) is used.
  std::string ca_file;
  /// Directory of trusted CA certificates in OpenSSL's hashed layout (c_rehash).
  std::string ca_dir;
};

/// A TLS configuration: a client one (what to trust) or a server one (the certificate
/// and key to present). Copies share the same OpenSSL context; it is read-only once made,
/// so any number of streams, servers and threads may use it. TLS 1.2 is the minimum.
/// @par Example
/// @code
///   auto client = braid::net::TlsContext::client();            // system CAs, verify on
///   auto server = braid::net::TlsContext::server("cert.pem", "key.pem");
/// @endcode
class TlsContext {
 public:
  /// A client context. Nothing parks.
  /// @throws TlsError  a CA file or directory could not be loaded ("TLS client context:
  ///                   loading CA file /x/ca.pem: No such file or directory").
  static TlsContext client(const TlsClientOptions& opts = {});
  /// A server context presenting `cert_file` (PEM: the certificate, then any
  /// intermediates) with the private key in `key_file` (PEM). Nothing parks.
  /// @throws TlsError  a file could not be loaded, or the key does not match the
  ///                   certificate.
  static TlsContext server(const std::string& cert_file, const std::string& key_file);

  bool is_server() const noexcept;
  /// Whether peers' certificates are checked (clients: TlsClientOptions::verify).
  bool verifies() const noexcept;
  /// OpenSSL's SSL_CTX, for settings braid does not wrap (ciphers, ALPN...). Change it
  /// before the first stream is made with it.
  ssl_ctx_st* native_handle() const noexcept;
  /// The Boost.Asio context behind it (include <boost/asio/ssl/context.hpp> to use it).
  boost::asio::ssl::context& asio_context() const noexcept;

 private:
  struct Impl;
  explicit TlsContext(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;  // shared by copies
};

}  // namespace braid::net
