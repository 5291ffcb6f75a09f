// The page server shared by http_server and the S22 crawler: Boost.Beast's synchronous
// HTTP API running on a braid TcpStream, one coroutine per connection.
//
// GET /page/N answers with a deterministic page of 1,000 * (N + 1) bytes after
// `delay` (a stand-in for a slow backend, so concurrency shows); anything else is 404.
#pragma once

#include <braid/net.hpp>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <string>

namespace examples {

namespace http = boost::beast::http;

/// The body of /page/N.
inline std::string page_body(int n) {
  std::string body = "<html><body><h1>page " + std::to_string(n) + "</h1>";
  const std::size_t size = 1000 * static_cast<std::size_t>(n + 1);
  while (body.size() + 15 < size) body += "<p>braid</p>\n";
  body.resize(size - 15, ' ');
  return body + "</body></html>\n";
}

/// Serves HTTP/1.1 requests on `s` until the client closes or asks to.
inline void serve_pages(braid::net::TcpStream& s, std::chrono::milliseconds delay) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(s, buffer, req, ec);  // parks this coroutine only
    if (ec == http::error::end_of_stream) return;
    // A client that closes in the middle of a request is a disconnect like a reset:
    // StreamServer logs both at debug level, not as server errors.
    if (ec == http::error::partial_message) ec = boost::asio::error::eof;
    if (ec) throw boost::system::system_error(ec, "http read");
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "braid");
    res.set(http::field::content_type, "text/html");
    const std::string target(req.target());
    int n = -1;
    if (target.rfind("/page/", 0) == 0) {
      try {
        n = std::stoi(target.substr(6));
      } catch (const std::exception&) {
        n = -1;
      }
    }
    if (n >= 0 && n < 1000) {
      if (delay.count() > 0) braid::sleep(delay);
      res.result(http::status::ok);
      res.body() = page_body(n);
    } else {
      res.result(http::status::not_found);
      res.body() = "not found: " + target + "\n";
    }
    res.prepare_payload();
    http::write(s, res);
    if (!res.keep_alive()) return;
  }
}

}  // namespace examples
