// Helpers shared by the TLS tests: contexts over the test certificates, a connected
// pair of TLS streams over loopback.
#pragma once

#include <braid/net/tls_stream.hpp>

#include "net_test_support.hpp"
#include "tls_test_certs.hpp"

#include <utility>

namespace braid::test {

/// A client context trusting the test CA (verification on).
inline net::TlsContext trusting_client() {
  net::TlsClientOptions o;
  o.ca_file = tls_files().ca_cert;
  return net::TlsContext::client(o);
}

/// A server context presenting the CA-signed certificate for localhost/127.0.0.1.
inline net::TlsContext good_server() {
  return net::TlsContext::server(tls_files().server_cert, tls_files().server_key);
}

/// A connected (client, server-side) TLS pair over 127.0.0.1, handshakes done.
inline std::pair<net::TlsStream, net::TlsStream> tls_pair() {
  auto conn = tcp_pair();
  auto& c = conn.first;
  auto& s = conn.second;
  const net::TlsContext server_ctx = good_server();
  auto accepted = braid::spawn(
      [&s, &server_ctx] { return net::TlsStream::accept(std::move(s), server_ctx, 5s); });
  net::TlsStream client = net::TlsStream::client(std::move(c), trusting_client(), "127.0.0.1", 5s);
  return {std::move(client), accepted.get()};
}

}  // namespace braid::test
