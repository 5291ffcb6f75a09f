// The sync-vs-async benchmark: the same work done one task after another, with
// coroutines, and (for CPU work) with the worker-process pool — timed and tabled.
//
//   sleep-bound : tasks that each sleep 0.5 s (the seed's 10, then 10,000 and 100,000):
//                 wall time and resident memory per coroutine
//   I/O-bound   : N requests to a local echo server that answers after 10 ms, one
//                 connection after another vs all at once
//   CPU-bound   : the seed's summing loop (S16), sequential vs the Pool on every core
//
// Prints a table; with --json FILE writes the figures for the plot/driver script.
// Usage: sync_vs_async [--quick] [--json FILE]
#include "cli.hpp"

#include <boost/json.hpp>
#include <braid/braid.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Row {
  std::string workload;
  std::string mode;
  double seconds;
  double kib_per_task;  // < 0 when not measured
};

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Resident set size of this process in KiB (VmRSS).
long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// ---- sleep-bound ----
void sleep_bound(std::vector<Row>& rows, int count, bool sequential_too) {
  static constexpr auto kSleep = 500ms;
  if (sequential_too) {
    const auto t0 = Clock::now();
    for (int i = 0; i < count; ++i) braid::sleep(kSleep);
    rows.push_back({fmt::format("sleep 0.5 s x {}", count), "sequential", since(t0), -1});
  }
  const long rss0 = rss_kib();
  long rss_peak = rss0;
  const auto t0 = Clock::now();
  std::vector<braid::Task<void>> tasks;
  tasks.reserve(count);
  for (int i = 0; i < count; ++i) tasks.push_back(braid::spawn([] { braid::sleep(kSleep); }));
  // Sample while every coroutine is parked in its sleep.
  braid::spawn([&] {
    braid::sleep(kSleep / 2);
    rss_peak = rss_kib();
  }).join();
  braid::joinall(tasks);
  const double secs = since(t0);
  rows.push_back({fmt::format("sleep 0.5 s x {}", count), "coroutines", secs,
                  static_cast<double>(rss_peak - rss0) / count});
}

// ---- I/O-bound ----
constexpr auto kServerDelay = 10ms;

void one_request(std::uint16_t port, int i) {
  auto s = braid::net::TcpStream::connect("127.0.0.1", port, 10s);
  const std::string msg = fmt::format("request {:08}", i);
  s.sendall(msg);
  std::string reply(msg.size(), '\0');
  s.recv_exact(std::span<char>(reply.data(), reply.size()));
  if (reply != msg) throw std::runtime_error("echo mismatch: " + reply);
}

void io_bound(std::vector<Row>& rows, std::uint16_t port, int count) {
  auto t0 = Clock::now();
  for (int i = 0; i < count; ++i) one_request(port, i);
  rows.push_back({fmt::format("{} requests, 10 ms server", count), "sequential", since(t0), -1});
  t0 = Clock::now();
  std::vector<braid::Task<void>> tasks;
  for (int i = 0; i < count; ++i) tasks.push_back(braid::spawn(one_request, port, i));
  for (auto& t : tasks) t.get();  // rethrows a failed request
  rows.push_back({fmt::format("{} requests, 10 ms server", count), "coroutines", since(t0), -1});
}

// ---- CPU-bound: the seed's task_process(delay) loop ----
std::uint64_t sum_loop(std::uint64_t iterations) {
  std::uint64_t num = 0;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    num += i;
    asm volatile("" : "+r"(num));  // keep the compiler from folding the loop away
  }
  return num;
}

void cpu_bound(std::vector<Row>& rows, std::uint64_t iterations, unsigned tasks) {
  const std::vector<std::uint64_t> work(tasks, iterations);
  const std::string name = fmt::format("{} x sum of {}M ints", tasks, iterations / 1'000'000);
  auto t0 = Clock::now();
  std::uint64_t check = 0;
  for (auto n : work) check += sum_loop(n);
  rows.push_back({name, "sequential", since(t0), -1});
  braid::process::Pool pool;               // one worker per CPU
  pool.apply(sum_loop, std::uint64_t{1});  // workers are warm before timing
  t0 = Clock::now();
  auto results = pool.map(sum_loop, work, 1);
  rows.push_back(
      {name, fmt::format("pool of {} processes", braid::process::cpu_count()), since(t0), -1});
  std::uint64_t got = 0;
  for (auto r : results) got += r;
  if (got != check) throw std::runtime_error("pool results differ from the sequential run");
}

void print_table(const std::vector<Row>& rows) {
  std::printf("%-34s %-22s %12s %14s\n", "workload", "mode", "seconds", "KiB per task");
  for (const auto& r : rows) {
    std::printf("%-34s %-22s %12.3f %14s\n", r.workload.c_str(), r.mode.c_str(), r.seconds,
                r.kib_per_task >= 0 ? fmt::format("{:.2f}", r.kib_per_task).c_str() : "-");
  }
}

void write_json(const std::vector<Row>& rows, const std::string& path, std::uint16_t port) {
  boost::json::array out;
  for (const auto& r : rows) {
    out.push_back({{"workload", r.workload},
                   {"mode", r.mode},
                   {"seconds", r.seconds},
                   {"kib_per_task", r.kib_per_task}});
  }
  std::ofstream(path) << boost::json::serialize(
                             boost::json::object{{"echo_port", port}, {"rows", std::move(out)}})
                      << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = braid_cli::po;
  std::string json;
  po::options_description opts("options");
  opts.add_options()("quick", "smaller workloads")("json", po::value(&json),
                                                   "also write the figures to FILE")(
      "hold-server", "keep the echo server up afterwards, until Enter (for the Python client)");
  const auto vm = braid_cli::parse(argc, argv, "[--quick] [--json FILE] [--hold-server]", opts);
  const bool quick = vm.count("quick") != 0;
  const bool hold_server = vm.count("hold-server") != 0;

  // The echo server lives on its own hub thread, so the client side measures only itself.
  braid::HubThread server_thread;
  std::unique_ptr<braid::net::StreamServer> server;  // created and destroyed on its thread
  auto server_port = server_thread.submit([&server] {
    server =
        std::make_unique<braid::net::StreamServer>("127.0.0.1", 0, [](braid::net::TcpStream& s) {
          char buf[4096];
          for (;;) {
            const std::size_t n = s.recv(std::span<char>(buf, sizeof buf));
            if (n == 0) return;
            braid::sleep(kServerDelay);  // a slow backend
            s.sendall(std::string_view(buf, n));
          }
        });
    server->start();
    return server->port();
  });
  const std::uint16_t port = server_port.get();

  std::vector<Row> rows;
  sleep_bound(rows, 10, true);
  sleep_bound(rows, quick ? 1'000 : 10'000, false);
  if (!quick) sleep_bound(rows, 100'000, false);
  io_bound(rows, port, quick ? 20 : 100);
  cpu_bound(rows, quick ? 20'000'000 : 300'000'000, 2 * braid::process::cpu_count());

  print_table(rows);
  if (!json.empty()) write_json(rows, json, port);
  if (hold_server) {
    std::printf("echo server on port %u; press Enter to stop\n", port);
    std::fflush(stdout);
    std::getchar();
  }
  server_thread.submit([&server] { server.reset(); }).get();
}
