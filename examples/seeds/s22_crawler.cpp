// Seed S22: the "crawler" that fetches several URLs with gevent-patched blocking I/O.
// Here the blocking library is Boost.Beast's synchronous HTTP client, running on a
// braid::net::TcpStream, so each fetch parks only its own coroutine.
//
//   s22_crawler [--urls N] [--delay-ms D] [--port P]
//
// Fetches http://127.0.0.1:P/page/0 .. /page/N-1 one after another, then all at once
// (one coroutine each), printing each page's size and both total times. Without --port
// it serves the pages itself (http_pages.hpp, each answered after D ms, default 100),
// on loopback: no internet needed.
#include "../http_pages.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace http = boost::beast::http;

namespace {

// The seed's f(url): GET it (a new connection per URL, as urllib does) and report.
std::size_t fetch(std::uint16_t port, const std::string& target) {
  std::printf("Get: http://127.0.0.1:%u%s\n", port, target.c_str());
  auto s = braid::net::TcpStream::connect("127.0.0.1", port, 5s);
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

}  // namespace

int main(int argc, char** argv) {
  int urls = 5;
  int delay_ms = 100;
  std::uint16_t port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--urls" && i + 1 < argc)
      urls = std::stoi(argv[++i]);
    else if (a == "--delay-ms" && i + 1 < argc)
      delay_ms = std::stoi(argv[++i]);
    else if (a == "--port" && i + 1 < argc)
      port = static_cast<std::uint16_t>(std::stoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--urls N] [--delay-ms D] [--port P]\n", argv[0]);
      return 2;
    }
  }
  try {
    std::optional<braid::net::StreamServer> own;
    if (port == 0) {
      own.emplace("127.0.0.1", 0, [delay_ms](braid::net::TcpStream& s) {
        examples::serve_pages(s, std::chrono::milliseconds(delay_ms));
      });
      own->start();
      port = own->port();
    }
    std::vector<std::string> targets;
    for (int i = 0; i < urls; ++i) targets.push_back("/page/" + std::to_string(i));

    std::printf("-- sequential\n");
    auto t0 = Clock::now();
    std::size_t total = 0;
    for (const auto& t : targets) {
      const std::size_t n = fetch(port, t);
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
      tasks.push_back(braid::spawn([&total, port, t] {
        const std::size_t n = fetch(port, t);
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
