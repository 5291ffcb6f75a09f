#include <braid/net.hpp>

#include "net_test_support.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using braid::net::TcpStream;

namespace {

void serve_http(TcpStream& s) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(s, buffer, req, ec);
    if (ec == http::error::end_of_stream) return;
    if (ec) throw boost::system::system_error(ec);
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.body() = "you asked for " + std::string(req.target());
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(s, res);
    if (!res.keep_alive()) return;
  }
}

}  // namespace

TEST_CASE("Boost.Beast synchronous client and server over TcpStream", "[net][unit]") {
  braid::net::StreamServer server("127.0.0.1", 0, serve_http);
  server.start();
  std::vector<braid::Task<std::string>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(braid::spawn([i, port = server.port()] {
      auto s = TcpStream::connect("127.0.0.1", port, 5s);
      std::string bodies;
      boost::beast::flat_buffer buffer;
      for (int k = 0; k < 3; ++k) {
        http::request<http::empty_body> req{http::verb::get, "/page/" + std::to_string(i), 11};
        req.set(http::field::host, "127.0.0.1");
        http::write(s, req);
        http::response<http::string_body> res;
        http::read(s, buffer, res);
        bodies += res.body() + ";";
      }
      return bodies;
    }));
  }
  REQUIRE(braid::joinall(clients, 10s));
  for (int i = 0; i < 20; ++i) {
    const std::string one = "you asked for /page/" + std::to_string(i) + ";";
    CHECK(clients[i].get() == one + one + one);
  }
  server.stop(1s);
}
