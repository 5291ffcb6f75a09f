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

#include <braid/net/tls_stream.hpp>

#include <csignal>
#include <cstdio>
#include <optional>
#include <string>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::chrono::milliseconds delay{0};
  std::optional<unsigned> workers;
  std::optional<std::pair<std::string, std::string>> tls;  // certificate chain, key
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--host" && i + 1 < argc)
      host = argv[++i];
    else if (a == "--port" && i + 1 < argc)
      port = static_cast<std::uint16_t>(std::stoi(argv[++i]));
    else if (a == "--delay-ms" && i + 1 < argc)
      delay = std::chrono::milliseconds(std::stoi(argv[++i]));
    else if (a == "--workers" && i + 1 < argc)
      workers = static_cast<unsigned>(std::stoul(argv[++i]));
    else if (a == "--tls" && i + 2 < argc) {
      tls.emplace(argv[i + 1], argv[i + 2]);
      i += 2;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--host H] [--port P] [--delay-ms D] [--workers N] "
                   "[--tls CERT KEY]\n",
                   argv[0]);
      return 2;
    }
  }
  if (tls && workers) {
    std::fprintf(stderr, "http_server: --tls serves from one process: drop --workers\n");
    return 2;
  }
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
