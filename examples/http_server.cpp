// A small HTTP server on Boost.Beast's synchronous API over braid::net::TcpStream: the
// library believes it is blocking, braid makes it cooperative (gevent's monkey patching,
// without the patching). Serves /page/N (see http_pages.hpp) for the S22 crawler.
//
//   http_server [--host 127.0.0.1] [--port 0] [--delay-ms 0]
//
// Prints "listening on PORT"; SIGINT/SIGTERM stop it gracefully.
#include "http_pages.hpp"

#include <csignal>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::chrono::milliseconds delay{0};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--host" && i + 1 < argc)
      host = argv[++i];
    else if (a == "--port" && i + 1 < argc)
      port = static_cast<std::uint16_t>(std::stoi(argv[++i]));
    else if (a == "--delay-ms" && i + 1 < argc)
      delay = std::chrono::milliseconds(std::stoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--host H] [--port P] [--delay-ms D]\n", argv[0]);
      return 2;
    }
  }
  try {
    braid::net::StreamServer server(
        host, port, [delay](braid::net::TcpStream& s) { examples::serve_pages(s, delay); });
    server.start();
    // Each handler runs in a coroutine of its own, where stop() may park. Declared after
    // the server, they are cancelled before it goes.
    auto stop = [&server] { server.stop(1s); };
    braid::SignalHandler on_int = braid::signal_handler(SIGINT, stop);
    braid::SignalHandler on_term = braid::signal_handler(SIGTERM, stop);
    std::printf("listening on %u\n", server.port());
    std::fflush(stdout);
    server.serve_forever();
    std::printf("stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "http_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
