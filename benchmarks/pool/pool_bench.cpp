// Pool benchmarks: apply round trip, map throughput, CPU-bound speed-up.
//
//   pool_bench rtt [iterations=20000] [block=1000]
//       -> "rtt_us <median of block means> cpu_us <c>"
//   pool_bench map [items=1000000] [repeats=7]  -> "map_items_per_s <median>"
//   pool_bench cpu [tasks=16] [ms_per_task=25]  -> "seq_s <t> pool_s <t> speedup <x>"
//
// The spin before sleeping is set with BRAID_POOL_SPIN_US (read by the pool).
// BRAID_BENCH_CPUS="P,C" pins rtt's parent to CPU P and its worker to CPU C (bench_cpu.h);
// cpu_us is the CPU time of both per round trip over the timed blocks.
#include <braid/process/pool.hpp>

#include "bench_cpu.h"
#include "cli.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

int identity(int x) { return x; }
int square(int x) { return x * x; }

// About `ms` milliseconds of floating-point work, the same in every process.
double burn(int ms) {
  static const long kPerMs = [] {
    long iters = 0;
    volatile double acc = 0;
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < std::chrono::milliseconds(20)) {
      for (int i = 0; i < 1000; ++i) acc = acc + std::sqrt(static_cast<double>(i) + acc);
      iters += 1000;
    }
    return iters / 20;
  }();
  volatile double acc = 0;
  for (long i = 0; i < kPerMs * ms; ++i) acc = acc + std::sqrt(static_cast<double>(i % 1000) + acc);
  return acc;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int rtt(int iterations, int block) {
  bench_pin_self();
  braid::process::Pool pool(1);
  const pid_t worker = pool.pids().at(0);
  bench_pin_peer(worker);
  for (int i = 0; i < 2000; ++i) (void)pool.apply(identity, i);  // warm up
  std::vector<double> means;
  const double cpu0 = bench_cpu_seconds(0) + bench_cpu_seconds(worker);
  for (int done = 0; done < iterations; done += block) {
    const auto t0 = Clock::now();
    for (int i = 0; i < block; ++i) {
      if (pool.apply(identity, i) != i) return 1;
    }
    means.push_back(seconds_since(t0) / block * 1e6);
  }
  const double cpu1 = bench_cpu_seconds(0) + bench_cpu_seconds(worker);
  if (pool.pids().at(0) != worker) return 1;  // a replaced worker would spoil cpu_us
  const double ops = static_cast<double>(means.size()) * block;
  std::printf("rtt_us %.2f cpu_us %.2f\n", median(means), (cpu1 - cpu0) * 1e6 / ops);
  return 0;
}

int map(int items, int repeats) {
  braid::process::Pool pool;
  std::vector<int> in(items);
  for (int i = 0; i < items; ++i) in[i] = i % 1000;
  (void)pool.map(square, in);  // warm up (page faults in the workers)
  // CPU time of the parent and the workers over the timed calls (the same workers: a
  // pool without maxtasksperchild keeps them).
  const auto cpu_now = [&pool] {
    double s = bench_cpu_seconds(0);
    for (pid_t p : pool.pids()) s += bench_cpu_seconds(p);
    return s;
  };
  const double cpu0 = cpu_now();
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    std::vector<int> out = pool.map(square, in);
    const double s = seconds_since(t0);
    if (out.size() != in.size() || out[999] != 999 * 999) return 1;
    rates.push_back(items / s);
  }
  const double cpu_ns = (cpu_now() - cpu0) * 1e9 / (static_cast<double>(items) * repeats);
  std::printf("map_items_per_s %.0f cpu_ns_per_item %.2f workers %u\n", median(rates), cpu_ns,
              pool.processes());
  return 0;
}

int cpu(int tasks, int ms) {
  (void)burn(1);  // calibrate in the parent, before fork, so workers inherit the figure
  std::vector<int> in(tasks, ms);
  auto t0 = Clock::now();
  double sink = 0;
  for (int x : in) sink += burn(x);
  const double seq = seconds_since(t0);
  braid::process::Pool pool;
  t0 = Clock::now();
  std::vector<double> out = pool.map(burn, in, 1);
  const double par = seconds_since(t0);
  for (double d : out) sink -= d;
  std::printf("seq_s %.3f pool_s %.3f speedup %.2f workers %u (check %g)\n", seq, par, seq / par,
              pool.processes(), std::fabs(sink) < 1e-6 ? 0.0 : sink);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = braid_cli::po;
  std::string mode = "rtt";
  po::options_description opts("arguments");
  opts.add_options()("mode", po::value(&mode), "rtt, map or cpu (default rtt)")(
      "first", po::value<int>(), "iterations, items or tasks")("second", po::value<int>(),
                                                               "block, repeats or ms per task");
  po::positional_options_description pos;
  pos.add("mode", 1).add("first", 1).add("second", 1);
  const char* usage =
      "rtt [ITERATIONS=20000] [BLOCK=1000] | map [ITEMS=1000000] [REPEATS=7] | "
      "cpu [TASKS=16] [MS_PER_TASK=25]";
  const auto vm = braid_cli::parse(argc, argv, usage, opts, pos);
  auto arg = [&](const char* name, int def) {
    const int v = vm.count(name) != 0 ? vm[name].as<int>() : def;
    if (v < 1) braid_cli::fail(argv[0], usage, std::string(name) + " argument must be positive");
    return v;
  };
  if (mode == "rtt") return rtt(arg("first", 20000), arg("second", 1000));
  if (mode == "map") return map(arg("first", 1000000), arg("second", 7));
  if (mode == "cpu") return cpu(arg("first", 16), arg("second", 25));
  braid_cli::fail(argv[0], usage, "unknown mode '" + mode + "'");
}
