// A TCP proxy that holds every chunk it passes on for a while: a network's latency on
// loopback. A loopback server answers in tens of microseconds, less than a client spends
// on a command, so there is nothing for concurrency to overlap; across a real network a
// round trip takes 0.1 to 1 ms, and that is what many coroutines hide.
//
//   delay_proxy --to-port P [--to-host 127.0.0.1] [--port 0] [--delay-us 250]
//
// Prints "listening on PORT"; SIGINT/SIGTERM stop it. Each connection gets one to the
// target; each direction is a coroutine that reads a chunk, sleeps --delay-us and sends
// it, so a request/response protocol sees 2 x delay more per round trip. (Chunks in one
// direction are delayed one after another: a stream of pipelined commands is slowed
// more than a real network would.)
#include "../cli.hpp"

#include <braid/coro.hpp>
#include <braid/net.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

using namespace std::chrono_literals;

namespace {

// Copies `from` to `to`, each chunk after `delay`, until EOF (then half-closes `to`) or
// an error (a peer went away: the other direction then sees its EOF or error too).
void pump(braid::net::TcpStream& from, braid::net::TcpStream& to, braid::Duration delay) {
  try {
    char buf[16384];
    for (;;) {
      const std::size_t n = from.recv(buf);
      if (n == 0) break;
      braid::sleep(delay);
      to.sendall({buf, n});
    }
    to.shutdown_write();
  } catch (const std::exception&) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string to_host = "127.0.0.1";
  int to_port = 0, port = 0, delay_us = 250;
  namespace po = braid_cli::po;
  po::options_description opts("options");
  opts.add_options()("to-port", po::value(&to_port)->required(), "the server to forward to")(
      "to-host", po::value(&to_host)->default_value(to_host), "its address")(
      "port", po::value(&port)->default_value(port), "port to listen on (0: any free port)")(
      "delay-us", po::value(&delay_us)->default_value(delay_us), "added to each chunk");
  const char* usage = "--to-port P [--to-host H] [--port P] [--delay-us N]";
  braid_cli::parse(argc, argv, usage, opts);
  if (to_port <= 0 || port < 0 || delay_us < 0)
    braid_cli::fail(argv[0], usage, "a value is out of range");
  try {
    const braid::Duration delay = std::chrono::microseconds(delay_us);
    braid::net::StreamServer server(
        "127.0.0.1", static_cast<std::uint16_t>(port), [&](braid::net::TcpStream& accepted) {
          // Shared by both directions: the upstream pump may outlive this handler (a stop
          // cancels the handler), and must not refer to its frame.
          auto client = std::make_shared<braid::net::TcpStream>(std::move(accepted));
          auto target = std::make_shared<braid::net::TcpStream>(
              braid::net::TcpStream::connect(to_host, static_cast<std::uint16_t>(to_port), 5s));
          auto up = braid::spawn([client, target, delay] { pump(*client, *target, delay); });
          pump(*target, *client, delay);
          up.join();
        });
    server.start();
    auto stop = [&server] { server.stop(1s); };
    braid::SignalHandler on_int = braid::signal_handler(SIGINT, stop);
    braid::SignalHandler on_term = braid::signal_handler(SIGTERM, stop);
    std::printf("listening on %u, forwarding to %s:%d after %d us each way\n", server.port(),
                to_host.c_str(), to_port, delay_us);
    std::fflush(stdout);
    server.serve_forever();
    std::printf("stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "delay_proxy: %s\n", e.what());
    return 1;
  }
  return 0;
}
