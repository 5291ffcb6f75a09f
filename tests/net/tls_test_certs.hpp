// Test-time certificates for the TLS tests (never committed): a CA, and certificates it
// signs, made with OpenSSL's API into a fresh temporary folder the first time they are
// asked for, and removed when the process exits. EC P-256 keys: made and used in
// microseconds, so a thousand handshakes stay cheap even under sanitizers.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace braid::test {

/// PEM files in one temporary folder.
struct TlsFiles {
  std::string dir;
  std::string ca_cert;      // the test CA: what clients are told to trust
  std::string server_cert;  // signed by the CA for DNS:localhost, IP:127.0.0.1, IP:::1
  std::string server_key;
  std::string self_signed_cert;  // the same names, but signed by itself: not trusted
  std::string self_signed_key;
  std::string other_cert;  // signed by the CA for DNS:other.example only
  std::string other_key;
};

namespace tls_detail {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificates: ") + what + " failed");
}

inline Key make_key() {
  Key k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

inline void add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  check(ext != nullptr, value);
  check(X509_add_ext(x, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

/// A certificate for `key` named `cn`, with subjectAltName `sans` (none if empty),
/// signed by `issuer`/`issuer_key`, or by itself when they are null.
inline Cert make_cert(EVP_PKEY* key, const char* cn, const char* sans, X509* issuer,
                      EVP_PKEY* issuer_key, bool ca) {
  static long serial = 1;
  Cert x(X509_new());
  check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 7L * 24 * 3600);
  check(X509_set_pubkey(x.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("braid tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(signer));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer, x.get(), nullptr, nullptr, 0);
  add_ext(x.get(), &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(x.get(), &ctx, NID_key_usage,
          ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (!ca) add_ext(x.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
  if (sans != nullptr && *sans != '\0') add_ext(x.get(), &ctx, NID_subject_alt_name, sans);
  check(X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
        "X509_sign");
  return x;
}

inline void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "fopen");
  const bool ok = cert != nullptr
                      ? PEM_write_X509(f, cert) == 1
                      : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  check(ok, "PEM_write");
}

/// Removes the folder at exit.
struct Folder {
  std::string path;
  ~Folder() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline TlsFiles make_files() {
  static Folder folder;
  char tmpl[] = "/tmp/braid-tls-test-XXXXXX";
  check(::mkdtemp(tmpl) != nullptr, "mkdtemp");
  folder.path = tmpl;
  TlsFiles f;
  f.dir = tmpl;
  auto at = [&](const char* name) { return f.dir + "/" + name; };
  f.ca_cert = at("ca.pem");
  f.server_cert = at("server.pem");
  f.server_key = at("server.key");
  f.self_signed_cert = at("self.pem");
  f.self_signed_key = at("self.key");
  f.other_cert = at("other.pem");
  f.other_key = at("other.key");

  const char* local_names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  Key ca_key = make_key();
  Cert ca = make_cert(ca_key.get(), "braid test CA", nullptr, nullptr, nullptr, true);
  write_pem(f.ca_cert, ca.get(), nullptr);
  Key server_key = make_key();
  Cert server =
      make_cert(server_key.get(), "localhost", local_names, ca.get(), ca_key.get(), false);
  write_pem(f.server_cert, server.get(), nullptr);
  write_pem(f.server_key, nullptr, server_key.get());
  Key self_key = make_key();
  Cert self = make_cert(self_key.get(), "localhost", local_names, nullptr, nullptr, false);
  write_pem(f.self_signed_cert, self.get(), nullptr);
  write_pem(f.self_signed_key, nullptr, self_key.get());
  Key other_key = make_key();
  Cert other = make_cert(other_key.get(), "other.example", "DNS:other.example", ca.get(),
                         ca_key.get(), false);
  write_pem(f.other_cert, other.get(), nullptr);
  write_pem(f.other_key, nullptr, other_key.get());
  return f;
}

}  // namespace tls_detail

/// The test certificates, made on first use (once per process).
inline const TlsFiles& tls_files() {
  static const TlsFiles files = tls_detail::make_files();
  return files;
}

}  // namespace braid::test
