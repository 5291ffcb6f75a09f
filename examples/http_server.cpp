// A small HTTP server on Boost.Beast's synchronous API over braid::net::TcpStream: the
// library believes it is blocking, braid makes it cooperative (gevent's monkey patching,
// without the patching). Serves /page/N (see http_pages.hpp) for the S22 crawler.
//
//   http_server [--host 127.0.0.1] [--port 0] [--delay-ms 0] [--workers N]
//               [--tls CERT.pem KEY.pem]
//
// Prints "listening on PORT"; SIGINT/SIGTERM stop it gracefully. --workers N serves from
// N pre-forked worker processes (0 = one per CPU; braid::net::ServerGroup), SIGHUP then
// replaces them one by one; each response carries the serving worker's pid in an
// X-Worker-Pid header. --tls serves HTTPS with that certificate chain and private key
// (braid::net::TlsStream; one process only).
#include "http_pages.hpp"

#include "cli.hpp"

#include <braid/net/tls_stream.hpp>

#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  namespace po = braid_cli::po;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int delay_ms = 0;
  unsigned worker_count = 0;
  std::vector<std::string> tls_files;
  po::options_description opts("options");
  opts.add_options()("host", po::value(&host)->default_value(host), "address to listen on")(
      "port", po::value(&port)->default_value(port), "0: any free port")(
      "delay-ms", po::value(&delay_ms)->default_value(0), "each response waits this long")(
      "workers", po::value(&worker_count), "pre-forked worker processes (0: one per CPU)")(
      "tls", po::value(&tls_files)->multitoken(), "serve HTTPS: CERT.pem KEY.pem");
  const char* usage = "[--host H] [--port P] [--delay-ms D] [--workers N] [--tls CERT KEY]";
  const auto vm = braid_cli::parse(argc, argv, usage, opts);
  const std::chrono::milliseconds delay{delay_ms};
  std::optional<unsigned> workers;
  if (vm.count("workers") != 0) workers = worker_count;
  std::optional<std::pair<std::string, std::string>> tls;  // certificate chain, key
  if (vm.count("tls") != 0) {
    if (tls_files.size() != 2) braid_cli::fail(argv[0], usage, "--tls takes CERT and KEY");
    tls.emplace(tls_files[0], tls_files[1]);
  }
  if (tls && workers)
    braid_cli::fail(argv[0], usage, "--tls serves from one process: drop --workers");
  try {
    if (workers) {
      braid::net::ServerGroupOptions go;
      go.workers = *workers;
      go.stop_grace = 1s;
      go.name = "http worker";
      braid::net::ServerGroup group(
          host, port, [delay](braid::net::TcpStream& s) { examples::serve_pages(s, delay); }, go);
      group.start();
      std::printf("listening on %u\n", group.port());
      std::fflush(stdout);
      const int code = group.serve_forever();  // SIGINT/SIGTERM: stop; SIGHUP: reload
      std::printf("stopped\n");
      return code;
    }
    auto server = tls ? braid::net::StreamServer(
                            host, port, braid::net::TlsContext::server(tls->first, tls->second),
                            [delay](braid::net::TlsStream& s) { examples::serve_pages(s, delay); })
                      : braid::net::StreamServer(host, port, [delay](braid::net::TcpStream& s) {
                          examples::serve_pages(s, delay);
                        });
    server.start();
    // Each handler runs in a coroutine of its own, where stop() may park. Declared after
    // the server, they are cancelled before it goes.
    auto stop = [&server] { server.stop(1s); };
    braid::SignalHandler on_int = braid::signal_handler(SIGINT, stop);
    braid::SignalHandler on_term = braid::signal_handler(SIGTERM, stop);
    std::printf("listening on %u%s\n", server.port(), tls ? " (HTTPS)" : "");
    std::fflush(stdout);
    server.serve_forever();
    std::printf("stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "http_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
