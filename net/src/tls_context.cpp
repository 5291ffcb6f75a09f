// TlsContext: an OpenSSL context configured for one side (client or server).
#include <braid/net/tls_context.hpp>

#include "tls_error.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace braid::net {

namespace ssl = boost::asio::ssl;

struct TlsContext::Impl {
  explicit Impl(ssl::context::method m) : ctx(m) {}
  ssl::context ctx;  // owns the SSL_CTX
  bool server = false;
  bool verify = false;
};

namespace {

using boost::system::error_code;

// TLS 1.0 and 1.1 are deprecated (RFC 8996); OpenSSL 3 refuses them at its default
// security level already, this says so for every build of OpenSSL.
void set_minimum_version(ssl::context& ctx, const char* what) {
  if (::SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
    detail::throw_tls(detail::last_ssl_error(),
                      std::string(what) + ": setting TLS 1.2 as the minimum version");
  }
}

void load_trust(ssl::context& ctx, const TlsClientOptions& o) {
  error_code ec;
  if (!o.ca_file.empty() && ctx.load_verify_file(o.ca_file, ec)) {
    detail::throw_tls(ec, "TLS client context: loading CA file " + o.ca_file);
  }
  if (!o.ca_dir.empty() && ctx.add_verify_path(o.ca_dir, ec)) {
    detail::throw_tls(ec, "TLS client context: adding CA directory " + o.ca_dir);
  }
  if (o.ca_file.empty() && o.ca_dir.empty() && ctx.set_default_verify_paths(ec)) {
    detail::throw_tls(ec, "TLS client context: loading the system's default CA store");
  }
}

}  // namespace

TlsContext TlsContext::client(const TlsClientOptions& opts) {
  auto impl = std::make_shared<Impl>(ssl::context::tls_client);
  set_minimum_version(impl->ctx, "TLS client context");
  impl->verify = opts.verify;
  if (opts.verify) {
    load_trust(impl->ctx, opts);
    impl->ctx.set_verify_mode(ssl::verify_peer);
  } else {
    impl->ctx.set_verify_mode(ssl::verify_none);
  }
  return TlsContext(std::move(impl));
}

TlsContext TlsContext::server(const std::string& cert_file, const std::string& key_file) {
  auto impl = std::make_shared<Impl>(ssl::context::tls_server);
  impl->server = true;
  ssl::context& ctx = impl->ctx;
  set_minimum_version(ctx, "TLS server context");
  error_code ec;
  if (ctx.use_certificate_chain_file(cert_file, ec)) {
    detail::throw_tls(ec, "TLS server context: loading certificate chain " + cert_file);
  }
  if (ctx.use_private_key_file(key_file, ssl::context::pem, ec)) {
    // OpenSSL checks the key against the certificate loaded first.
    if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
      detail::throw_tls(ec, "TLS server context: private key " + key_file +
                                " does not match certificate " + cert_file);
    }
    detail::throw_tls(ec, "TLS server context: loading private key " + key_file);
  }
  return TlsContext(std::move(impl));
}

bool TlsContext::is_server() const noexcept { return impl_->server; }
bool TlsContext::verifies() const noexcept { return impl_->verify; }
ssl_ctx_st* TlsContext::native_handle() const noexcept { return impl_->ctx.native_handle(); }
boost::asio::ssl::context& TlsContext::asio_context() const noexcept { return impl_->ctx; }

}  // namespace braid::net
