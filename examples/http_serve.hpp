// One HTTP/1.1 connection served with Boost.Beast's synchronous API over a braid
// TcpStream or TlsStream: the library believes it is blocking, braid parks only this
// coroutine. Shared by the examples that answer HTTP (http_server's pages,
// metrics_server's /metrics).
#pragma once

#include <braid/net.hpp>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <string_view>

namespace examples {

namespace http = boost::beast::http;

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

/// Reads requests on `s` (a TcpStream or a TlsStream) until the client closes or asks to,
/// and answers each with what `respond(const HttpRequest&, HttpResponse&)` fills in
/// (status, headers, body); the version, keep-alive and Server header are set before it,
/// the payload size after.
template <typename Stream, typename Respond>
void serve_http(Stream& s, std::string_view server_name, Respond&& respond) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    HttpRequest req;
    boost::system::error_code ec;
    http::read(s, buffer, req, ec);  // parks this coroutine only
    if (ec == http::error::end_of_stream) return;
    // A client that closes in the middle of a request is a disconnect like a reset:
    // StreamServer logs both at debug level, not as server errors.
    if (ec == http::error::partial_message) ec = boost::asio::error::eof;
    if (ec) throw boost::system::system_error(ec, "http read");
    HttpResponse res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, server_name);
    respond(req, res);
    res.prepare_payload();
    http::write(s, res);
    if (!res.keep_alive()) return;
  }
}

}  // namespace examples
