// many_sleepers: spawn N coroutines that each sleep, join them all, and print one JSON
// object with the wall time (first spawn to last one done), the resident memory each
// coroutine costs and the CPU time used. DESIGN.md's target: 100,000 coroutines sleeping
// 0.5 s each are all done in <= 0.75 s with <= 4.5 KiB resident per coroutine, and
// 1,000,000 must work (stacks come from slabs, so vm.max_map_count is no limit).
//
// Usage: many_sleepers [--count N] [--sleep-ms MS] [--stack-kib K]
//   N = 100000, MS = 500, K = 0 (braid's default stack size).
//
// Memory: VmRSS is read from /proc/self/status before the first spawn and again by a
// coroutine spawned after all the sleepers (the ready queue is FIFO, so by then every
// sleeper has run up to its sleep and parked); VmHWM is read once all are done. The
// per-coroutine figures divide the growth by N: one touched stack page, the task's state
// (shared record, handle, timer-heap slot) and whatever the allocator keeps around it.
#include <braid/coro.hpp>

#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t count = 100'000;
  long sleep_ms = 500;
  std::size_t stack_kib = 0;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--count N] [--sleep-ms MS] [--stack-kib K]\n", argv0);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> long long {
      if (i + 1 >= argc) usage(argv[0]);
      char* end = nullptr;
      const long long v = std::strtoll(argv[++i], &end, 10);
      if (end == nullptr || *end != '\0' || v < 0) usage(argv[0]);
      return v;
    };
    if (std::strcmp(argv[i], "--count") == 0) {
      o.count = static_cast<std::size_t>(value());
    } else if (std::strcmp(argv[i], "--sleep-ms") == 0) {
      o.sleep_ms = static_cast<long>(value());
    } else if (std::strcmp(argv[i], "--stack-kib") == 0) {
      o.stack_kib = static_cast<std::size_t>(value());
    } else {
      usage(argv[0]);
    }
  }
  if (o.count == 0) usage(argv[0]);
  return o;
}

// Memory figures from /proc/self/status, in KiB.
struct Mem {
  long rss = 0;  // VmRSS
  long hwm = 0;  // VmHWM: peak VmRSS
  long pte = 0;  // VmPTE: page tables (not part of VmRSS)
};

Mem read_mem() {
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

std::size_t count_mappings() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

double cpu_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string stats_json(const braid::StackPoolStats& s) {
  return fmt::format(R"({{"slabs": {}, "in_use": {}, "free": {}, "guard_install": {}}})", s.slabs,
                     s.in_use, s.free, s.guard_install ? "true" : "false");
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const auto nap = std::chrono::milliseconds(opt.sleep_ms);
  braid::Hub::current();  // the hub and its io_context exist before the baseline reading

  const Mem before = read_mem();
  rusage ru0{};
  ::getrusage(RUSAGE_SELF, &ru0);
  const auto t0 = Clock::now();

  std::vector<braid::Task<void>> tasks;
  tasks.reserve(opt.count);
  const braid::SpawnOptions spawn_opts{"", opt.stack_kib * 1024};
  for (std::size_t i = 0; i < opt.count; ++i) {
    tasks.push_back(braid::spawn(spawn_opts, [nap] { braid::sleep(nap); }));
  }
  const auto t_spawned = Clock::now();

  // Runs once every sleeper has parked in its sleep.
  Mem sleeping;
  braid::StackPoolStats pool_sleeping;
  Clock::time_point t_parked;
  rusage ru_parked{};
  auto sampler = braid::spawn([&] {
    t_parked = Clock::now();
    ::getrusage(RUSAGE_SELF, &ru_parked);
    sleeping = read_mem();
    pool_sleeping = braid::stack_pool_stats();
  });
  sampler.join();
  braid::joinall(tasks);
  const auto t_done = Clock::now();

  rusage ru1{};
  ::getrusage(RUSAGE_SELF, &ru1);
  const Mem after = read_mem();
  const braid::StackPoolStats pool_after = braid::stack_pool_stats();
  std::size_t failed = 0;
  for (auto& t : tasks) failed += t.successful() ? 0 : 1;
  const std::size_t maps = count_mappings();

  const double n = static_cast<double>(opt.count);
  const std::size_t stack_kib =
      opt.stack_kib != 0 ? opt.stack_kib : braid::default_stack_size() / 1024;
  const double wall = seconds(t_done - t0);
  const double user = cpu_seconds(ru1.ru_utime) - cpu_seconds(ru0.ru_utime);
  const double sys = cpu_seconds(ru1.ru_stime) - cpu_seconds(ru0.ru_stime);
  const double sys_parked = cpu_seconds(ru_parked.ru_stime) - cpu_seconds(ru0.ru_stime);
  const double cpu_parked =
      cpu_seconds(ru_parked.ru_utime) - cpu_seconds(ru0.ru_utime) + sys_parked;
  fmt::print(
      "{{\"impl\": \"braid\", \"count\": {}, \"sleep_ms\": {}, \"stack_kib\": {}, "
      "\"wall_s\": {:.4f}, \"overhead_s\": {:.4f}, \"spawn_s\": {:.4f}, \"all_parked_s\": {:.4f}, "
      "\"cpu_user_s\": {:.4f}, \"cpu_sys_s\": {:.4f}, \"cpu_s\": {:.4f}, \"cpu_to_parked_s\": "
      "{:.4f}, \"sys_to_parked_s\": {:.4f}, "
      "\"rss_before_kib\": {}, \"rss_sleeping_kib\": {}, \"hwm_kib\": {}, "
      "\"rss_per_coro_kib\": {:.3f}, \"peak_per_coro_kib\": {:.3f}, \"pte_per_coro_kib\": {:.3f}, "
      "\"mappings\": {}, \"failed\": {}, \"stack_pool_sleeping\": {}, \"stack_pool_after\": {}}}\n",
      opt.count, opt.sleep_ms, stack_kib, wall, wall - seconds(nap), seconds(t_spawned - t0),
      seconds(t_parked - t0), user, sys, user + sys, cpu_parked, sys_parked, before.rss,
      sleeping.rss, after.hwm, static_cast<double>(sleeping.rss - before.rss) / n,
      static_cast<double>(after.hwm - before.rss) / n,
      static_cast<double>(sleeping.pte - before.pte) / n, maps, failed, stats_json(pool_sleeping),
      stats_json(pool_after));
  return failed == 0 ? 0 : 1;
}
