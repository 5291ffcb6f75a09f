// The concurrent echo server (seed S23: gevent's socket server, one coroutine per
// connection), as a real program.
//
//   echo_server [--host 127.0.0.1] [--port 0] [--max-connections N] [--idle-timeout S]
//               [--workers N [--reuse-port]] [--verbose]
//
// Prints "listening on PORT" once it accepts connections (port 0 = an ephemeral port),
// logs each connect and disconnect at debug level (--verbose or BRAID_LOG=debug), and
// on SIGINT/SIGTERM stops gracefully: the listener closes, open connections get two
// seconds (the server's stop_timeout) to finish, the handlers still running are then
// killed and their connections closed (clients see EOF or a reset), and it prints
// "stopped" and exits 0 -- within about three seconds, however busy it is.
// --idle-timeout closes connections that send nothing for S seconds (so idle clients
// cannot hold every --max-connections slot).
// --workers N serves from N pre-forked worker processes (0 = one per CPU), each with its
// own hub, supervised by this one (braid::net::ServerGroup): a worker that dies is
// restarted; SIGINT/SIGTERM stop every worker with the same two-second grace, SIGHUP
// replaces them one by one. It prints "worker I pid P" per worker after "listening on".
#include "cli.hpp"

#include <braid/net.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>

using namespace std::chrono_literals;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t max_connections = 0;
  std::optional<braid::Duration> idle_timeout;
  std::optional<unsigned> workers;  // pre-forked worker processes (0 = one per CPU)
  bool reuse_port = false;
  bool verbose = false;
};

Options parse(int argc, char** argv) {
  namespace po = braid_cli::po;
  Options o;
  double idle_s = 0;
  unsigned workers = 0;
  po::options_description opts("options");
  opts.add_options()("host", po::value(&o.host)->default_value(o.host), "address to listen on")(
      "port", po::value(&o.port)->default_value(o.port), "0: any free port")(
      "max-connections", po::value(&o.max_connections), "connections served at once")(
      "idle-timeout", po::value(&idle_s), "close connections silent this many seconds")(
      "workers", po::value(&workers), "pre-forked worker processes (0: one per CPU)")(
      "reuse-port", po::bool_switch(&o.reuse_port), "workers: one SO_REUSEPORT listener each")(
      "verbose,v", po::bool_switch(&o.verbose), "log each connect and disconnect");
  const char* usage =
      "[--host H] [--port P] [--max-connections N] [--idle-timeout S] "
      "[--workers N [--reuse-port]] [--verbose]";
  const auto vm = braid_cli::parse(argc, argv, usage, opts);
  if (vm.count("idle-timeout") != 0) {
    if (!(idle_s > 0)) braid_cli::fail(argv[0], usage, "--idle-timeout must be positive");
    o.idle_timeout =
        std::chrono::duration_cast<braid::Duration>(std::chrono::duration<double>(idle_s));
  }
  if (vm.count("workers") != 0) o.workers = workers;
  return o;
}

// The seed's handler: receive, send back, until the client goes away. A 1 KiB buffer
// is what the seed reads at a time (conn.recv(1024)).
void handle(braid::net::TcpStream& conn) {
  // The peer's name is only formatted when it is logged.
  const bool verbose = spdlog::should_log(spdlog::level::debug);
  if (verbose) spdlog::debug("connected: {}", conn.peer_address().to_string());
  char buf[1024];
  try {
    while (std::size_t n = conn.recv(buf)) conn.sendall({buf, n});
  } catch (const std::system_error& e) {
    // A client that resets instead of closing is a disconnect, not a server error.
    if (e.code() != std::errc::connection_reset && e.code() != std::errc::broken_pipe) throw;
  }
  if (verbose) spdlog::debug("disconnected: {}", conn.peer_address().to_string());
}

// --workers: the same server in pre-forked processes; the parent only supervises.
int serve_with_workers(const Options& opts, const braid::net::ServerOptions& so) {
  braid::net::ServerGroupOptions go;
  go.workers = *opts.workers;
  go.reuse_port = opts.reuse_port;
  go.server = so;
  go.stop_grace = so.stop_timeout;
  go.name = "echo worker";
  braid::net::ServerGroup group(opts.host, opts.port, handle, go);
  group.start();
  std::printf("listening on %u\n", group.port());
  const auto pids = group.worker_pids();
  for (std::size_t i = 0; i < pids.size(); ++i) std::printf("worker %zu pid %d\n", i, pids[i]);
  std::fflush(stdout);
  const int code = group.serve_forever();  // SIGINT/SIGTERM: stop; SIGHUP: reload
  std::printf("stopped\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opts = parse(argc, argv);
  spdlog::set_default_logger(spdlog::stderr_logger_mt("echo_server"));  // stdout: port only
  if (opts.verbose) spdlog::set_level(spdlog::level::debug);
  if (const char* lvl = std::getenv("BRAID_LOG"); lvl != nullptr && !opts.verbose) {
    spdlog::set_level(spdlog::level::from_str(lvl));
  }
  try {
    braid::net::ServerOptions so;
    so.max_connections = opts.max_connections;
    so.idle_timeout = opts.idle_timeout;
    so.stop_timeout = 2s;  // the grace a signal gives open connections
    if (opts.workers) return serve_with_workers(opts, so);
    braid::net::StreamServer server(opts.host, opts.port, handle, so);
    server.start();

    // Each signal runs its handler in a coroutine of its own, so it may park in stop()
    // (stop_timeout, then the kill); a second signal finds the server stopping and stop()
    // returns at once. Declared after the server, the handlers are cancelled before it goes.
    auto on_signal = [&server](int sig) {
      return braid::signal_handler(sig, [&server, sig] {
        spdlog::info("signal {}: stopping", sig);
        server.stop();
      });
    };
    braid::SignalHandler on_int = on_signal(SIGINT);
    braid::SignalHandler on_term = on_signal(SIGTERM);

    std::printf("listening on %u\n", server.port());
    std::fflush(stdout);
    server.serve_forever();
    std::printf("stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
