// braid::subprocess benchmarks; run_subprocess_bench.py drives them (alternating with the
// baselines) and writes the report.
//
//   subprocess_bench run N           N x run({"true"}) from main, nothing else alive (the
//                                    spawn runs on the hub's thread); mean us per child
//   subprocess_bench run-busy N      the same from a coroutine while another coroutine
//                                    lives (the spawn goes through the thread pool)
//   subprocess_bench concurrent K S  K coroutines each run({"sleep", S}) at once while a
//                                    ticker coroutine asks to wake every 1 ms; prints
//                                    wall_ms, max/p99 lateness of its ticks, ticks, and
//                                    the hub thread's CPU time meanwhile
//   subprocess_bench idle-ticker MS  the ticker alone for MS ms: the machine's own floor
#include <braid/process/subprocess.hpp>

#include "cli.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sp = braid::subprocess;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// CPU time of the calling thread (the hub's) so far, in ms.
double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

void run_true(int n) {
  for (int i = 0; i < n; ++i) {
    if (sp::run({"true"}).returncode != 0) std::abort();
  }
}

// Wakes every 1 ms on a fixed grid and records how late each wake was.
struct Ticker {
  std::vector<double> late_ms;
  bool stop = false;
  braid::Task<void> task;

  void start() {
    task = braid::spawn([this] {
      auto next = Clock::now();
      while (!stop) {
        next += 1ms;
        braid::sleep(std::max<Clock::duration>(next - Clock::now(), Clock::duration::zero()));
        const auto late = Clock::now() - next;
        late_ms.push_back(std::chrono::duration<double, std::milli>(late).count());
        if (late > 1ms) next = Clock::now();  // measure each stall once, not as a backlog
      }
    });
  }
  void finish() {
    stop = true;
    task.join();
  }
  void print(double wall_ms, double hub_cpu_ms) {
    std::sort(late_ms.begin(), late_ms.end());
    const double max = late_ms.empty() ? 0 : late_ms.back();
    const double p99 = late_ms.empty() ? 0 : late_ms[late_ms.size() * 99 / 100];
    std::printf("wall_ms=%.1f max_late_ms=%.3f p99_late_ms=%.3f ticks=%zu hub_cpu_ms=%.1f\n",
                wall_ms, max, p99, late_ms.size(), hub_cpu_ms);
  }
};

int concurrent(int k, const std::string& seconds) {
  Ticker ticker;
  ticker.start();
  braid::sleep(20ms);  // the ticker is running before the first spawn
  ticker.late_ms.clear();
  const auto start = Clock::now();
  const double cpu0 = thread_cpu_ms();
  std::vector<braid::Task<int>> kids;
  for (int i = 0; i < k; ++i) {
    kids.push_back(braid::spawn([&seconds] { return sp::run({"sleep", seconds}).returncode; }));
  }
  for (auto& t : kids) {
    if (t.get() != 0) std::abort();
  }
  const double wall = us_since(start) / 1000;
  const double cpu = thread_cpu_ms() - cpu0;
  ticker.finish();
  ticker.print(wall, cpu);
  return 0;
}

int idle_ticker(int ms) {
  Ticker ticker;
  ticker.start();
  braid::sleep(20ms);
  ticker.late_ms.clear();
  const double cpu0 = thread_cpu_ms();
  braid::sleep(std::chrono::milliseconds(ms));
  const double cpu = thread_cpu_ms() - cpu0;
  ticker.finish();
  ticker.print(ms, cpu);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = braid_cli::po;
  std::string mode;
  std::vector<std::string> rest;
  po::options_description opts("arguments");
  opts.add_options()("mode", po::value(&mode)->required(),
                     "run, run-busy, concurrent, idle-ticker")("args", po::value(&rest),
                                                               "the mode's arguments");
  po::positional_options_description pos;
  pos.add("mode", 1).add("args", -1);
  const char* usage = "run N | run-busy N | concurrent K SECONDS | idle-ticker MS";
  braid_cli::parse(argc, argv, usage, opts, pos);
  auto count = [&](std::size_t i) {  // a positive whole number
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(rest[i], &used);
    } catch (const std::exception&) {
    }
    if (used != rest[i].size() || v < 1)
      braid_cli::fail(argv[0], usage, "'" + rest[i] + "' is not a positive whole number");
    return v;
  };
  const std::size_t want = mode == "concurrent" ? 2 : 1;
  if (rest.size() != want)
    braid_cli::fail(argv[0], usage,
                    "'" + mode + "' takes " + std::to_string(want) + " argument(s)");
  if (mode == "run") {
    const int n = count(0);
    const auto start = Clock::now();
    run_true(n);
    std::printf("%.1f\n", us_since(start) / n);
    return 0;
  }
  if (mode == "run-busy") {
    const int n = count(0);
    bool stop = false;
    auto other = braid::spawn([&] {
      while (!stop) braid::sleep(5ms);
    });
    double per = 0;
    braid::spawn([&] {
      const auto start = Clock::now();
      run_true(n);
      per = us_since(start) / n;
    }).join();
    stop = true;
    other.join();
    std::printf("%.1f\n", per);
    return 0;
  }
  if (mode == "concurrent") return concurrent(count(0), rest[1]);
  if (mode == "idle-ticker") return idle_ticker(count(0));
  braid_cli::fail(argv[0], usage, "unknown mode '" + mode + "'");
}
