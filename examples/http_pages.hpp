// The page server shared by http_server and the S22 crawler: Boost.Beast's synchronous
// HTTP API running on a braid TcpStream or TlsStream, one coroutine per connection.
//
// GET /page/N answers with a deterministic page of 1,000 * (N + 1) bytes after
// `delay` (a stand-in for a slow backend, so concurrency shows); anything else is 404.
// Every response names the process that served it (X-Worker-Pid).
#pragma once

#include "http_serve.hpp"

#include <braid/net.hpp>

#include <chrono>
#include <string>

#include <unistd.h>

namespace examples {

/// The body of /page/N.
inline std::string page_body(int n) {
  std::string body = "<html><body><h1>page " + std::to_string(n) + "</h1>";
  const std::size_t size = 1000 * static_cast<std::size_t>(n + 1);
  while (body.size() + 15 < size) body += "<p>braid</p>\n";
  body.resize(size - 15, ' ');
  return body + "</body></html>\n";
}

/// Serves HTTP/1.1 requests on `s` (a TcpStream or a TlsStream) until the client closes
/// or asks to.
template <typename Stream>
void serve_pages(Stream& s, std::chrono::milliseconds delay) {
  serve_http(s, "braid", [delay](const HttpRequest& req, HttpResponse& res) {
    res.set(http::field::content_type, "text/html");
    res.set("X-Worker-Pid", std::to_string(::getpid()));  // which process served it
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
  });
}

}  // namespace examples
