#include "tls_error.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/x509.h>

namespace braid::net::detail {

std::string tls_reason(const boost::system::error_code& ec) {
  if (ec == boost::asio::ssl::error::stream_truncated) {
    return "the peer closed the connection without a TLS close_notify";
  }
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    // Asio's own message appends the library name ("(SSL routines)"): the reason alone
    // reads better inside a sentence.
    const char* reason = ::ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason != nullptr) return reason;
    return "OpenSSL error " + std::to_string(ec.value());
  }
  return ec.message();
}

boost::system::error_code last_ssl_error() {
  const unsigned long e = ::ERR_get_error();
  ::ERR_clear_error();
  return {static_cast<int>(e), boost::asio::error::get_ssl_category()};
}

void throw_tls(const boost::system::error_code& ec, const std::string& what, long verify_result) {
  std::string message = what + ": " + tls_reason(ec);
  if (verify_result != X509_V_OK) {
    message += " (";
    message += ::X509_verify_cert_error_string(verify_result);
    message += ")";
  }
  throw TlsError(static_cast<std::error_code>(ec), message, verify_result);
}

}  // namespace braid::net::detail
