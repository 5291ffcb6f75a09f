// What many_sleepers (braid) and asio_spawn_sleepers (its baseline) share, so that both
// take the same command line and print the same JSON object: the options, the memory
// readings from /proc/self, and the report.
//
//   PROGRAM [--count N] [--sleep-ms MS] [--stack-kib K]
#pragma once

#include "cli.hpp"

#include <sys/resource.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace sleepers {

using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t count = 100'000;
  long sleep_ms = 500;
  std::size_t stack_kib = 0;
};

// stack_kib: the default; `stack_required`: 0 is refused (a fixed-size stack needs a size).
inline Options parse(int argc, char** argv, std::size_t stack_kib, bool stack_required) {
  namespace po = braid_cli::po;
  Options o;
  o.stack_kib = stack_kib;
  po::options_description opts("options");
  opts.add_options()("count", po::value(&o.count)->default_value(o.count), "coroutines (>= 1)")(
      "sleep-ms", po::value(&o.sleep_ms)->default_value(o.sleep_ms), "each one's sleep")(
      "stack-kib", po::value(&o.stack_kib)->default_value(o.stack_kib),
      stack_required ? "stack size per coroutine" : "stack size per coroutine (0: the default)");
  const char* usage = "[--count N] [--sleep-ms MS] [--stack-kib K]";
  braid_cli::parse(argc, argv, usage, opts);
  if (o.count == 0) braid_cli::fail(argv[0], usage, "--count must be at least 1");
  if (o.sleep_ms < 0) braid_cli::fail(argv[0], usage, "--sleep-ms must not be negative");
  if (stack_required && o.stack_kib == 0)
    braid_cli::fail(argv[0], usage, "--stack-kib must be at least 1");
  return o;
}

// Memory figures from /proc/self/status, in KiB.
struct Mem {
  long rss = 0;  // VmRSS
  long hwm = 0;  // VmHWM: peak VmRSS
  long pte = 0;  // VmPTE: page tables (not part of VmRSS)
};

inline Mem read_mem() {
  Mem m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    auto field = [&](const char* name, long& out) {
      const std::size_t n = std::strlen(name);
      if (line.compare(0, n, name) == 0) out = std::strtol(line.c_str() + n, nullptr, 10);
    };
    field("VmRSS:", m.rss);
    field("VmHWM:", m.hwm);
    field("VmPTE:", m.pte);
  }
  return m;
}

inline std::size_t count_mappings() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

inline double cpu_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

inline double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The readings a run takes: at the start, once every sleeper has parked, at the end.
struct Readings {
  Clock::time_point t0, t_spawned, t_parked, t_done;
  rusage ru0{}, ru_parked{}, ru1{};
  Mem before, sleeping, after;
};

// The report both programs print (one JSON object); benchmarks/run_coro_benchmarks.py
// reads it.
inline boost::json::object report(const char* impl, const Options& opt, std::size_t stack_kib,
                                  const Readings& r, std::size_t failed) {
  const double n = static_cast<double>(opt.count);
  const double wall = seconds(r.t_done - r.t0);
  const double user = cpu_seconds(r.ru1.ru_utime) - cpu_seconds(r.ru0.ru_utime);
  const double sys = cpu_seconds(r.ru1.ru_stime) - cpu_seconds(r.ru0.ru_stime);
  const double sys_parked = cpu_seconds(r.ru_parked.ru_stime) - cpu_seconds(r.ru0.ru_stime);
  const double cpu_parked =
      cpu_seconds(r.ru_parked.ru_utime) - cpu_seconds(r.ru0.ru_utime) + sys_parked;
  return {{"impl", impl},
          {"count", opt.count},
          {"sleep_ms", opt.sleep_ms},
          {"stack_kib", stack_kib},
          {"wall_s", wall},
          {"overhead_s", wall - static_cast<double>(opt.sleep_ms) / 1e3},
          {"spawn_s", seconds(r.t_spawned - r.t0)},
          {"all_parked_s", seconds(r.t_parked - r.t0)},
          {"cpu_user_s", user},
          {"cpu_sys_s", sys},
          {"cpu_s", user + sys},
          {"cpu_to_parked_s", cpu_parked},
          {"sys_to_parked_s", sys_parked},
          {"rss_before_kib", r.before.rss},
          {"rss_sleeping_kib", r.sleeping.rss},
          {"hwm_kib", r.after.hwm},
          {"rss_per_coro_kib", static_cast<double>(r.sleeping.rss - r.before.rss) / n},
          {"peak_per_coro_kib", static_cast<double>(r.after.hwm - r.before.rss) / n},
          {"pte_per_coro_kib", static_cast<double>(r.sleeping.pte - r.before.pte) / n},
          {"mappings", count_mappings()},
          {"failed", failed}};
}

inline void print(const boost::json::object& o) {
  std::printf("%s\n", boost::json::serialize(o).c_str());
}

}  // namespace sleepers
