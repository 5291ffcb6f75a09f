// Internal: TLS failures turned into braid::net::TlsError with a message that says what
// failed, with whom, and why (OpenSSL's reason, and its certificate verification result).
#pragma once

#include <braid/net/tls_context.hpp>

#include <boost/system/error_code.hpp>

#include <string>

namespace braid::net::detail {

/// Why `ec` happened, in words: OpenSSL's reason string for its errors ("certificate
/// verify failed", "wrong version number"), a sentence for a connection closed without a
/// close_notify, strerror for the errno of a socket failure.
std::string tls_reason(const boost::system::error_code& ec);

/// The oldest error on OpenSSL's queue (the queue is then cleared), in Asio's ssl category.
boost::system::error_code last_ssl_error();

/// Throws TlsError "what: reason" (+ " (verify result)" when `verify_result` is not
/// X509_V_OK).
[[noreturn]] void throw_tls(const boost::system::error_code& ec, const std::string& what,
                            long verify_result = 0);

}  // namespace braid::net::detail
