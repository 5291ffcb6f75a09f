// An echo server that shows braid's metrics to Prometheus: Hub::stats() and each
// StreamServer's stats() in the text exposition format (0.0.4) on an HTTP endpoint
// served by Boost.Beast over braid's TcpStream, on the same hub as the echo traffic.
//
//   metrics_server [--host 127.0.0.1] [--port 0] [--metrics-port 0]
//
// Prints "metrics on PORT" (GET http://HOST:PORT/metrics) and then "listening on PORT"
// (the echo port) once both accept connections; port 0 = an ephemeral port. The loop lag
// and longest-turn figures cover the time since the previous scrape (one scraper
// assumed). SIGINT/SIGTERM stop it: the echo server gets its 1 s grace, the endpoint
// another second, then it prints "stopped" and exits 0.
#include "http_serve.hpp"
#include "prometheus_text.hpp"

#include "cli.hpp"

#include <braid/coro.hpp>
#include <braid/net.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

using namespace std::chrono_literals;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint16_t metrics_port = 0;
};

constexpr const char* kUsage = "[--host H] [--port P] [--metrics-port M]";

std::uint16_t parse_port(const char* argv0, const std::string& flag, const std::string& v) {
  std::size_t used = 0;
  unsigned long n = 0;
  try {
    n = std::stoul(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || n > 65535) {
    braid_cli::fail(argv0, kUsage, flag + " takes a port number from 0 to 65535, not '" + v + "'");
  }
  return static_cast<std::uint16_t>(n);
}

Options parse(int argc, char** argv) {
  namespace po = braid_cli::po;
  Options o;
  std::string port = "0", metrics_port = "0";  // checked below, for a message naming the flag
  po::options_description opts("options");
  opts.add_options()("host", po::value(&o.host)->default_value(o.host), "address to listen on")(
      "port", po::value(&port)->default_value(port), "echo port (0: any free port)")(
      "metrics-port", po::value(&metrics_port)->default_value(metrics_port),
      "metrics HTTP port (0: any free port)");
  braid_cli::parse(argc, argv, kUsage, opts);
  o.port = parse_port(argv[0], "--port", port);
  o.metrics_port = parse_port(argv[0], "--metrics-port", metrics_port);
  return o;
}

void echo(braid::net::TcpStream& conn) {
  char buf[4096];
  while (std::size_t n = conn.recv(buf)) conn.sendall({buf, n});
}

// One request to the endpoint: GET /metrics gets `render()`, any other method on it 405,
// any other path 404.
void answer(const std::function<std::string()>& render, const examples::HttpRequest& req,
            examples::HttpResponse& res) {
  namespace http = examples::http;
  const std::string_view target(req.target().data(), req.target().size());
  const bool is_metrics = target == "/metrics" || target.rfind("/metrics?", 0) == 0;
  if (is_metrics && req.method() == http::verb::get) {
    res.result(http::status::ok);
    res.set(http::field::content_type, examples::prometheus::kContentType);
    res.body() = render();
  } else if (is_metrics) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET");
    res.set(http::field::content_type, "text/plain");
    res.body() = "only GET is served on /metrics\n";
  } else {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain");
    res.body() = "not found: " + std::string(target) + " (metrics are at /metrics)\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options opts = parse(argc, argv);
  spdlog::set_default_logger(spdlog::stderr_logger_mt("metrics_server"));  // stdout: ports
  if (const char* lvl = std::getenv("BRAID_LOG"); lvl != nullptr) {
    spdlog::set_level(spdlog::level::from_str(lvl));
  }
  try {
    braid::net::StreamServer echo_server(opts.host, opts.port, echo);
    // The endpoint reports on itself too, so it needs its own address in its handler.
    braid::net::StreamServer* self = nullptr;
    const std::function<std::string()> render = [&echo_server, &self] {
      const examples::prometheus::NamedServer servers[] = {{"echo", echo_server.stats()},
                                                           {"metrics", self->stats()}};
      return examples::prometheus::exposition(braid::Hub::current().stats(true), servers,
                                              "since the previous scrape");
    };
    braid::net::StreamServer metrics_server(
        opts.host, opts.metrics_port, [&render](braid::net::TcpStream& s) {
          examples::serve_http(s, "braid metrics_server",
                               [&render](const auto& req, auto& res) { answer(render, req, res); });
        });
    self = &metrics_server;
    echo_server.start();
    metrics_server.start();

    // A lag probe: echo traffic arms no timers, and loop lag is measured on timers, so a
    // 10 Hz sleep keeps the lag window filled between scrapes.
    braid::Event probe_stop;
    auto probe = braid::spawn(braid::SpawnOptions{"lag probe", 0}, [&probe_stop] {
      while (!probe_stop.wait(100ms)) {
      }
    });

    // Each signal runs its handler in a coroutine of its own, where stop() may park.
    // Declared after the servers, the handlers are cancelled before they go.
    auto stop = [&echo_server] { echo_server.stop(); };
    braid::SignalHandler on_int = braid::signal_handler(SIGINT, stop);
    braid::SignalHandler on_term = braid::signal_handler(SIGTERM, stop);

    // Both lines in one write, the echo port last: a reader waiting for "listening on"
    // has the metrics port too.
    std::printf("metrics on %u\nlistening on %u\n", metrics_server.port(), echo_server.port());
    std::fflush(stdout);
    echo_server.serve_forever();
    metrics_server.stop(1s);
    probe_stop.set();
    probe.join();
    std::printf("stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "metrics_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
