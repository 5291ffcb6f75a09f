// asio_spawn_sleepers: the boost::asio::spawn baseline for braid's many_sleepers.
//
// N stackful coroutines (boost::asio::spawn on Boost.Context fibers, one io_context on
// one thread, 64 KiB fixed-size stacks as an Asio user would pick) each wait on a
// steady_timer, written the way an Asio user would write it. Prints the same JSON as
// benchmarks/macro/many_sleepers.cpp. Built from benchmarks/macro/CMakeLists.txt.
//
// Usage: asio_spawn_sleepers [--count N] [--sleep-ms MS] [--stack-kib K]
//   N = 100000, MS = 500, K = 64.
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t count = 100'000;
  long sleep_ms = 500;
  std::size_t stack_kib = 64;
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
  if (o.count == 0 || o.stack_kib == 0) usage(argv[0]);
  return o;
}

struct Mem {
  long rss = 0;  // VmRSS, KiB
  long hwm = 0;  // VmHWM, KiB
  long pte = 0;  // VmPTE, KiB
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

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const auto nap = std::chrono::milliseconds(opt.sleep_ms);
  asio::io_context ctx(1);

  const Mem before = read_mem();
  rusage ru0{};
  ::getrusage(RUSAGE_SELF, &ru0);
  const auto t0 = Clock::now();

  std::size_t finished = 0;
  for (std::size_t i = 0; i < opt.count; ++i) {
    asio::spawn(
        ctx, std::allocator_arg, boost::context::fixedsize_stack(opt.stack_kib * 1024),
        [&ctx, &finished, nap](asio::yield_context yield) {
          asio::steady_timer timer(ctx, nap);
          timer.async_wait(yield);
          ++finished;
        },
        asio::detached);
  }
  const auto t_spawned = Clock::now();

  // Spawned last, so it starts once every sleeper has started its wait.
  Mem sleeping;
  Clock::time_point t_parked;
  rusage ru_parked{};
  asio::spawn(
      ctx,
      [&](asio::yield_context) {
        t_parked = Clock::now();
        ::getrusage(RUSAGE_SELF, &ru_parked);
        sleeping = read_mem();
      },
      asio::detached);
  ctx.run();
  const auto t_done = Clock::now();

  rusage ru1{};
  ::getrusage(RUSAGE_SELF, &ru1);
  const Mem after = read_mem();
  const std::size_t maps = count_mappings();

  const double n = static_cast<double>(opt.count);
  const double wall = seconds(t_done - t0);
  const double user = cpu_seconds(ru1.ru_utime) - cpu_seconds(ru0.ru_utime);
  const double sys = cpu_seconds(ru1.ru_stime) - cpu_seconds(ru0.ru_stime);
  const double sys_parked = cpu_seconds(ru_parked.ru_stime) - cpu_seconds(ru0.ru_stime);
  const double cpu_parked =
      cpu_seconds(ru_parked.ru_utime) - cpu_seconds(ru0.ru_utime) + sys_parked;
  std::printf(
      "{\"impl\": \"asio_spawn\", \"count\": %zu, \"sleep_ms\": %ld, \"stack_kib\": %zu, "
      "\"wall_s\": %.4f, \"overhead_s\": %.4f, \"spawn_s\": %.4f, \"all_parked_s\": %.4f, "
      "\"cpu_user_s\": %.4f, \"cpu_sys_s\": %.4f, \"cpu_s\": %.4f, \"cpu_to_parked_s\": %.4f, "
      "\"sys_to_parked_s\": %.4f, "
      "\"rss_before_kib\": %ld, \"rss_sleeping_kib\": %ld, \"hwm_kib\": %ld, "
      "\"rss_per_coro_kib\": %.3f, \"peak_per_coro_kib\": %.3f, \"pte_per_coro_kib\": %.3f, "
      "\"mappings\": %zu, \"failed\": %zu}\n",
      opt.count, opt.sleep_ms, opt.stack_kib, wall, wall - seconds(nap), seconds(t_spawned - t0),
      seconds(t_parked - t0), user, sys, user + sys, cpu_parked, sys_parked, before.rss,
      sleeping.rss, after.hwm, static_cast<double>(sleeping.rss - before.rss) / n,
      static_cast<double>(after.hwm - before.rss) / n,
      static_cast<double>(sleeping.pte - before.pte) / n, maps, opt.count - finished);
  return finished == opt.count ? 0 : 1;
}
