// Seed S22: the "crawler" that fetches several URLs with gevent-patched blocking I/O.
// Here the blocking library is Boost.Beast's synchronous HTTP client, running on a
// braid::net::TcpStream, so each fetch parks only its own coroutine.
//
//   s22_crawler [--urls N] [--delay-ms D] [--port P]
//               [--tls [--ca CA.pem] [--cert CERT.pem --key KEY.pem]]
//
// Fetches http://127.0.0.1:P/page/0 .. /page/N-1 one after another, then all at once
// (one coroutine each), printing each page's size and both total times. Without --port
// it serves the pages itself (http_pages.hpp, each answered after D ms, default 100),
// on loopback: no internet needed.
//
// --tls fetches https:// instead (braid::net::TlsStream), checking the server's
// certificate against --ca (default: the system's CAs) and that it names 127.0.0.1.
// Serving the pages itself over TLS needs --cert and --key.
#include "../http_pages.hpp"

#include "../cli.hpp"

#include <braid/net/tls_stream.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace http = boost::beast::http;

namespace {

// One GET on a fresh connection (`s`: a TcpStream or a TlsStream); the body's size.
template <typename Stream>
std::size_t get(Stream& s, const std::string& target) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  http::write(s, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(s, buffer, res);
  if (res.result() != http::status::ok) {
    throw std::runtime_error(target + ": HTTP " + std::to_string(res.result_int()));
  }
  return res.body().size();
}

// The seed's f(url): GET it (a new connection per URL, as urllib does) and report.
// `tls` set: over TLS, verifying the server with it.
std::size_t fetch(std::uint16_t port, const std::string& target,
                  const std::optional<braid::net::TlsContext>& tls) {
  std::printf("Get: %s://127.0.0.1:%u%s\n", tls ? "https" : "http", port, target.c_str());
  if (tls) {
    auto s = braid::net::TlsStream::connect("127.0.0.1", port, *tls, 5s);
    return get(s, target);
  }
  auto s = braid::net::TcpStream::connect("127.0.0.1", port, 5s);
  return get(s, target);
}

}  // namespace

int main(int argc, char** argv) {
  int urls = 5;
  int delay_ms = 100;
  std::uint16_t port = 0;
  bool use_tls = false;
  std::string ca_file, cert_file, key_file;
  namespace po = braid_cli::po;
  po::options_description opts("options");
  opts.add_options()("urls", po::value(&urls)->default_value(urls), "pages to fetch")(
      "delay-ms", po::value(&delay_ms)->default_value(delay_ms), "the server's delay per page")(
      "port", po::value(&port), "fetch from this server instead of serving the pages")(
      "tls", po::bool_switch(&use_tls), "over TLS")("ca", po::value(&ca_file), "CA to trust")(
      "cert", po::value(&cert_file), "certificate chain")("key", po::value(&key_file), "its key");
  braid_cli::parse(argc, argv,
                   "[--urls N] [--delay-ms D] [--port P] [--tls [--ca CA] [--cert CERT --key KEY]]",
                   opts);
  if (use_tls && port == 0 && (cert_file.empty() || key_file.empty())) {
    std::fprintf(stderr,
                 "s22_crawler: --tls without --port serves the pages itself over TLS: "
                 "give it --cert FILE --key FILE\n");
    return 2;
  }
  try {
    std::optional<braid::net::TlsContext> tls;  // the client side, when --tls
    if (use_tls) {
      braid::net::TlsClientOptions o;
      o.ca_file = ca_file;
      tls = braid::net::TlsContext::client(o);
    }
    const std::chrono::milliseconds delay(delay_ms);
    std::optional<braid::net::StreamServer> own;
    if (port == 0 && use_tls) {
      own.emplace("127.0.0.1", 0, braid::net::TlsContext::server(cert_file, key_file),
                  [delay](braid::net::TlsStream& s) { examples::serve_pages(s, delay); });
    } else if (port == 0) {
      own.emplace("127.0.0.1", 0,
                  [delay](braid::net::TcpStream& s) { examples::serve_pages(s, delay); });
    }
    if (own) {
      own->start();
      port = own->port();
    }
    std::vector<std::string> targets;
    for (int i = 0; i < urls; ++i) targets.push_back("/page/" + std::to_string(i));

    std::printf("-- sequential\n");
    auto t0 = Clock::now();
    std::size_t total = 0;
    for (const auto& t : targets) {
      const std::size_t n = fetch(port, t, tls);
      std::printf("%s: %zu bytes\n", t.c_str(), n);
      total += n;
    }
    const double seq = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("sequential: %d pages, %zu bytes in %.3f s\n", urls, total, seq);

    std::printf("-- concurrent\n");
    t0 = Clock::now();
    std::vector<braid::Task<void>> tasks;  // gevent.joinall([gevent.spawn(f, url), ...])
    total = 0;
    for (const auto& t : targets) {
      tasks.push_back(braid::spawn([&total, &tls, port, t] {
        const std::size_t n = fetch(port, t, tls);
        std::printf("%s: %zu bytes\n", t.c_str(), n);
        total += n;
      }));
    }
    braid::joinall(tasks);
    for (auto& t : tasks) t.get();  // rethrow the first failure, if any
    const double conc = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("concurrent: %d pages, %zu bytes in %.3f s\n", urls, total, conc);
    std::printf("speed-up: %.1fx\n", conc > 0 ? seq / conc : 0.0);
    if (own) own->stop(1s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s22_crawler: %s\n", e.what());
    return 1;
  }
  return 0;
}
