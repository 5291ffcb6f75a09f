// Seed S22, faithfully: the "crawler" that fetches several URLs with a blocking HTTP
// library made cooperative (gevent: monkey.patch_all() then urllib in greenlets). Here the
// blocking library is libcurl's curl_easy_perform, unmodified; braid_hooks, linked into
// this program, makes its connect/poll/recv/send park only the calling coroutine.
//
//   curl_crawler [--urls N] [--delay-ms D] [--port P]
//
// Fetches http://127.0.0.1:P/page/0 .. /page/N-1 one after another, then all at once (one
// coroutine each), printing each page's size and both total times. Without --port it
// serves the pages itself (a braid StreamServer in this process, each page answered after
// D ms, default 200), on loopback: no internet needed.
//
// The curl_crawler_unhooked build is the same program without braid_hooks (the control):
// there libcurl blocks the whole thread, so the concurrent pass takes as long as the
// sequential one, and it needs --port (an in-process server could never answer).
#include "../cli.hpp"
#include "../http_pages.hpp"
#include "hooked.hpp"

#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t append(char* data, std::size_t size, std::size_t n, void* body) {
  static_cast<std::string*>(body)->append(data, size * n);
  return size * n;
}

// The seed's f(url): GET it (a new connection per URL, as urllib does) and report.
std::size_t fetch(std::uint16_t port, const std::string& target) {
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + target;
  std::printf("Get: %s\n", url.c_str());
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) throw std::runtime_error("curl_easy_init failed");
  std::string body;
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: timeouts by poll()
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(h.get(), CURLOPT_FORBID_REUSE, 1L);
  const CURLcode rc = curl_easy_perform(h.get());  // blocking
  if (rc != CURLE_OK) throw std::runtime_error(url + ": " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) throw std::runtime_error(url + ": HTTP " + std::to_string(status));
  return body.size();
}

}  // namespace

int main(int argc, char** argv) {
  int urls = 20;
  int delay_ms = 200;
  std::uint16_t port = 0;
  namespace po = braid_cli::po;
  po::options_description opts("options");
  opts.add_options()("urls", po::value(&urls)->default_value(urls), "pages to fetch")(
      "delay-ms", po::value(&delay_ms)->default_value(delay_ms), "the server's delay per page")(
      "port", po::value(&port), "fetch from this server instead of serving the pages");
  braid_cli::parse(argc, argv, "[--urls N] [--delay-ms D] [--port P]", opts);
  if (!braid_clients::kHooked && port == 0) {
    std::fprintf(stderr,
                 "%s: without braid_hooks libcurl blocks the thread that would serve the "
                 "pages: give --port of a server in another process\n",
                 argv[0]);
    return 2;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::fprintf(stderr, "curl_global_init failed\n");
    return 1;
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
    std::printf("libcurl %s, braid_hooks: %s\n", curl_version_info(CURLVERSION_NOW)->version,
                braid_clients::kHooksState);
    std::vector<std::string> targets;
    for (int i = 0; i < urls; ++i) targets.push_back("/page/" + std::to_string(i));

    std::printf("-- sequential\n");
    auto t0 = Clock::now();
    std::size_t total = 0;
    // On a coroutine even one after another: in main the hooks leave every call to libc,
    // and the pages served by this very thread would never come.
    auto sequential = braid::spawn([&] {
      for (const auto& t : targets) {
        const std::size_t n = fetch(port, t);
        std::printf("%s: %zu bytes\n", t.c_str(), n);
        total += n;
      }
    });
    sequential.get();
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
    std::fprintf(stderr, "curl_crawler: %s\n", e.what());
    curl_global_cleanup();
    return 1;
  }
  curl_global_cleanup();
  return 0;
}
