// Process-module benchmarks, each braid figure next to its baseline from the same run:
//   spawn      Process start + join          vs  fork + _exit(0) + waitpid
//   pingpong   Pipe send/recv<int> round trip vs  raw pipe ping-pong (write/read 4 bytes)
//   queue      Queue<int> producer -> parent  vs  Python multiprocessing.Queue
// Rounds alternate braid and baseline; the report gives medians, ratios, and CPU time per
// operation (user + system, this process and its reaped children).
//
//   process_bench [--rounds R] [--python /usr/bin/python3] [--start-round K] [--quick]
//                 [--json FILE]
//
// --json writes every round's samples (benchmarks/process/run_process_bench.py runs one
// round per noise-checked window with --rounds 1 --start-round K, K keeping the order
// alternating). --quick: a tenth of the operations (a smoke test).
//
// BRAID_BENCH_CPUS="P,C" pins this process to CPU P and the ping-pong peers to CPU C
// (../pool/bench_cpu.h); spawned children that just exit inherit CPU P.
#include <braid/process.hpp>

#include "../pool/bench_cpu.h"
#include "cli.hpp"

#include <boost/json.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace mp = braid::process;
using Clock = std::chrono::steady_clock;

namespace {

struct Sample {
  double wall_us;  // per operation
  double cpu_us;   // per operation
};

double cpu_seconds() {
  rusage self{}, kids{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &kids);
  auto sec = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return sec(self.ru_utime) + sec(self.ru_stime) + sec(kids.ru_utime) + sec(kids.ru_stime);
}

Sample measure(int ops, const std::function<void()>& body) {
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  body();
  const auto t1 = Clock::now();
  const double c1 = cpu_seconds();
  return {std::chrono::duration<double, std::micro>(t1 - t0).count() / ops, (c1 - c0) * 1e6 / ops};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Result {
  std::vector<double> wall_a, cpu_a, wall_b, cpu_b;
  void add(const Sample& a, const Sample& b) {
    wall_a.push_back(a.wall_us);
    cpu_a.push_back(a.cpu_us);
    wall_b.push_back(b.wall_us);
    cpu_b.push_back(b.cpu_us);
  }
};

// ---- spawn
void bare_spawn(int n) {
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int st;
    ::waitpid(pid, &st, 0);
  }
}

void braid_spawn(int n) {
  for (int i = 0; i < n; ++i) {
    mp::Process p([] {});
    p.start();
    p.join();
  }
}

// ---- ping-pong
void raw_pingpong(int n) {
  int to_child[2], to_parent[2];
  if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    int v;
    while (::read(to_child[0], &v, sizeof v) == sizeof v && v >= 0) {
      if (::write(to_parent[1], &v, sizeof v) != sizeof v) break;
    }
    ::_exit(0);
  }
  bench_pin_peer(pid);
  for (int i = 0; i < n; ++i) {
    int v = i;
    if (::write(to_child[1], &v, sizeof v) != sizeof v) std::abort();
    if (::read(to_parent[0], &v, sizeof v) != sizeof v) std::abort();
  }
  int stop = -1;
  if (::write(to_child[1], &stop, sizeof stop) != sizeof stop) std::abort();
  int st;
  ::waitpid(pid, &st, 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);
}

void braid_pingpong(int n) {
  auto [a, b] = mp::Pipe();
  mp::Process echo(
      [](mp::Connection& c) {
        for (;;) {
          const int v = c.recv<int>();
          if (v < 0) break;
          c.send(v);
        }
      },
      std::ref(b));
  echo.start();
  bench_pin_peer(echo.pid());
  b.close();
  for (int i = 0; i < n; ++i) {
    a.send(i);
    if (a.recv<int>() != i) std::abort();
  }
  a.send(-1);
  echo.join();
}

// ---- queue
void braid_queue(int n) {
  mp::Queue<int> q;
  mp::Process producer(
      [n](mp::Queue<int> q) {
        for (int i = 0; i < n; ++i) q.put(i);
      },
      q);
  producer.start();
  long long total = 0;
  for (int i = 0; i < n; ++i) total += q.get();
  if (total != static_cast<long long>(n) * (n - 1) / 2) std::abort();
  producer.join();
}

double python_queue_seconds(const std::string& python, int n) {
  const std::string cmd = python + " " BRAID_PYTHON_QUEUE_SCRIPT " " + std::to_string(n);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  double s = -1;
  if (std::fscanf(p, "%lf", &s) != 1) s = -1;
  ::pclose(p);
  return s;
}

void report(const char* what, const char* a_name, const char* b_name, const Result& r,
            const char* target) {
  const double wa = median(r.wall_a), wb = median(r.wall_b);
  std::printf("| %s | %s | %.1f µs | %.1f µs CPU |\n", what, a_name, wa, median(r.cpu_a));
  std::printf("| %s | %s | %.1f µs | %.1f µs CPU |\n", what, b_name, wb, median(r.cpu_b));
  std::printf("| %s | **ratio braid / baseline** | **%.2f×** (target %s) | %.2f× CPU |\n", what,
              wa / wb, target, median(r.cpu_a) / median(r.cpu_b));
}

boost::json::object samples(const std::vector<double>& wall, const std::vector<double>& cpu) {
  return {{"wall_us", boost::json::value_from(wall)}, {"cpu_us", boost::json::value_from(cpu)}};
}

void write_json(const std::string& path, const Result& spawn, const Result& ping,
                const Result& queue, const std::vector<double>& py_rate) {
  const boost::json::object doc{{"spawn",
                                 {{"braid", samples(spawn.wall_a, spawn.cpu_a)},
                                  {"baseline", samples(spawn.wall_b, spawn.cpu_b)}}},
                                {"pingpong",
                                 {{"braid", samples(ping.wall_a, ping.cpu_a)},
                                  {"baseline", samples(ping.wall_b, ping.cpu_b)}}},
                                {"queue", {{"braid", samples(queue.wall_a, queue.cpu_a)}}},
                                {"python_queue_items_per_s", boost::json::value_from(py_rate)}};
  std::ofstream(path) << boost::json::serialize(doc) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = braid_cli::po;
  int rounds = 7, start_round = 0;
  std::string python = "/usr/bin/python3", json;
  po::options_description opts("options");
  opts.add_options()("rounds", po::value(&rounds)->default_value(rounds), "rounds (>= 1)")(
      "python", po::value(&python)->default_value(python), "interpreter for the Queue baseline")(
      "start-round", po::value(&start_round)->default_value(0),
      "index of the first round (the order alternates by it; Python runs in rounds 0-2)")(
      "json", po::value(&json), "also write every round's samples to FILE")(
      "quick", "a tenth of the operations (smoke test)");
  const char* usage = "[--rounds R] [--python PATH] [--start-round K] [--quick] [--json FILE]";
  const auto vm = braid_cli::parse(argc, argv, usage, opts);
  if (rounds < 1 || start_round < 0)
    braid_cli::fail(argv[0], usage, "--rounds must be positive, --start-round not negative");
  bench_pin_self();
  const int scale = vm.count("quick") != 0 ? 10 : 1;
  const int kSpawns = 200 / scale, kPings = 20000 / scale, kItems = 200000 / scale,
            kPyItems = 50000 / scale;

  Result spawn, ping, queue;
  std::vector<double> py_rate, braid_rate;
  braid_spawn(10);  // warm up: the hub, the reaper, the stack pool
  for (int r = start_round; r < start_round + rounds; ++r) {
    const bool braid_first = r % 2 == 0;  // alternate the order too
    Sample a{}, b{};
    if (braid_first) {
      a = measure(kSpawns, [&] { braid_spawn(kSpawns); });
      b = measure(kSpawns, [&] { bare_spawn(kSpawns); });
    } else {
      b = measure(kSpawns, [&] { bare_spawn(kSpawns); });
      a = measure(kSpawns, [&] { braid_spawn(kSpawns); });
    }
    spawn.add(a, b);
    if (braid_first) {
      a = measure(kPings, [&] { braid_pingpong(kPings); });
      b = measure(kPings, [&] { raw_pingpong(kPings); });
    } else {
      b = measure(kPings, [&] { raw_pingpong(kPings); });
      a = measure(kPings, [&] { braid_pingpong(kPings); });
    }
    ping.add(a, b);
    const Sample q = measure(kItems, [&] { braid_queue(kItems); });
    queue.wall_a.push_back(q.wall_us);
    queue.cpu_a.push_back(q.cpu_us);
    braid_rate.push_back(1e6 / q.wall_us);
    if (r < 3) {  // Python is slow: three rounds are enough
      const double s = python_queue_seconds(python, kPyItems);
      if (s > 0) py_rate.push_back(kPyItems / s);
    }
    std::fprintf(stderr, "round %d/%d done\n", r - start_round + 1, rounds);
  }
  if (!json.empty()) write_json(json, spawn, ping, queue, py_rate);
  std::printf("| benchmark | variant | median per op | median CPU per op |\n|---|---|---|---|\n");
  report("Process start+join", "braid Process", "fork+_exit+waitpid", spawn, "≤ 1.5×");
  report("Pipe round trip", "braid Pipe send/recv<int>", "raw pipe ping-pong", ping, "≤ 1.5×");
  const double br = median(braid_rate);
  std::printf(
      "| Queue throughput | braid Queue<int>, 1 producer process | %.0f items/s | %.2f µs CPU/item "
      "|\n",
      br, median(queue.cpu_a));
  if (!py_rate.empty()) {
    const double pr = median(py_rate);
    std::printf("| Queue throughput | Python multiprocessing.Queue | %.0f items/s | |\n", pr);
    std::printf("| Queue throughput | **ratio braid / Python** | **%.1f×** (target ≥ 10×) | |\n",
                br / pr);
  } else {
    std::printf("| Queue throughput | Python multiprocessing.Queue | (%s not runnable) | |\n",
                python.c_str());
  }
}
