// braid_fair_echo: braid's echo server with the fairness probe inside (see probe.hpp).
//
// One braid::net::StreamServer (a coroutine per connection, recv + sendall of up to
// 4 KiB, like the asio and gevent servers of this benchmark), plus
//   - a ticker coroutine: braid::sleep(tick) in a loop, lateness = wake - deadline;
//   - a spawner coroutine: every spawn period, braid::spawn a coroutine and measure
//     the delay from the spawn call to its first instruction.
// Prints "listening on PORT", then takes start/stop commands on stdin (probe.hpp).
//
// Usage: braid_fair_echo [--port P] [--tick-ms T] [--spawn-every-ms S]
#include <braid/net.hpp>

#include <cstdio>
#include <exception>
#include <system_error>

#include "probe.hpp"

namespace {

void echo(braid::net::TcpStream& conn) {
  char buf[4096];
  try {
    while (std::size_t n = conn.recv(buf)) conn.sendall({buf, n});
  } catch (const std::system_error& e) {
    // The load generator ends by closing its connections: a reset is an ordinary end.
    if (e.code() != std::errc::connection_reset && e.code() != std::errc::broken_pipe) throw;
  }
}

void ticker(fairbench::Probe& probe) {
  for (;;) {
    probe.ticker_sleeping(fairbench::now_ns() + probe.tick().count());
    braid::sleep(probe.tick());
    probe.ticker_woke(fairbench::now_ns());
  }
}

void spawner(fairbench::Probe& probe) {
  for (;;) {
    braid::sleep(probe.spawn_every());
    const std::uint64_t id = probe.spawning(fairbench::now_ns());
    braid::spawn([&probe, id] { probe.spawned_ran(id, fairbench::now_ns()); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  const fairbench::Options opt = fairbench::parse_options(argc, argv);
  fairbench::Probe probe("braid", fairbench::from_ms(opt.tick_ms),
                         fairbench::from_ms(opt.spawn_every_ms));
  try {
    braid::net::StreamServer server("127.0.0.1", opt.port, echo);
    server.start();
    braid::spawn([&probe] { ticker(probe); });
    braid::spawn([&probe] { spawner(probe); });
    probe.start_control_thread();
    std::printf("listening on %u\n", server.port());
    std::fflush(stdout);
    server.serve_forever();  // the control thread ends the process
  } catch (const std::exception& e) {
    std::fprintf(stderr, "braid_fair_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
