// The fairness probe shared by braid_fair_echo and asio_fair_echo: what a ticker and a
// spawner observe while the server's loop is saturated with echo traffic.
//
// The loop under test records samples; a plain thread of its own (not the loop) takes
// commands on stdin, so the report comes out even if the loop never gets round to the
// probe again — which is exactly the failure being measured:
//   "start"  clears the samples and opens the measured window;
//   "stop"   closes it and prints one JSON line on stdout (see report());
//   EOF      exits the process at once (_exit(0)): the runner is done with it.
//
// A wake or a first run still pending when the window closes counts as a sample of
// (close time - deadline): a ticker that never wakes shows as a max as long as the
// window, not as an absent sample. Such samples are also counted ("pending").
#pragma once

#include <unistd.h>

#include "cli.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fairbench {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, as the runner's

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Percentiles {
  std::size_t count = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// Nearest rank on (n - 1), as echo_loadgen's latencies.
inline Percentiles percentiles(std::vector<std::int64_t> v) {
  Percentiles p;
  p.count = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return double(v[std::size_t(q * double(v.size() - 1))]) / 1e3; };
  p.p50_us = at(0.50);
  p.p90_us = at(0.90);
  p.p99_us = at(0.99);
  p.p999_us = at(0.999);
  p.max_us = double(v.back()) / 1e3;
  return p;
}

class Probe {
 public:
  Probe(std::string server, std::chrono::nanoseconds tick, std::chrono::nanoseconds spawn_every)
      : server_(std::move(server)), tick_ns_(tick.count()), spawn_every_ns_(spawn_every.count()) {}

  std::chrono::nanoseconds tick() const { return std::chrono::nanoseconds(tick_ns_); }
  std::chrono::nanoseconds spawn_every() const { return std::chrono::nanoseconds(spawn_every_ns_); }

  // The ticker, before it sleeps until `deadline_ns`, and when it wakes.
  void ticker_sleeping(std::int64_t deadline_ns) {
    std::lock_guard lock(mutex_);
    ticker_deadline_ns_ = deadline_ns;
  }
  void ticker_woke(std::int64_t now) {
    std::lock_guard lock(mutex_);
    if (recording_) lateness_.push_back(std::max<std::int64_t>(0, now - ticker_deadline_ns_));
    ticker_deadline_ns_ = 0;
  }

  // The spawner, right before it spawns; the new coroutine, first thing it does.
  std::uint64_t spawning(std::int64_t now) {
    std::lock_guard lock(mutex_);
    pending_spawns_.emplace(++spawn_id_, now);
    return spawn_id_;
  }
  void spawned_ran(std::uint64_t id, std::int64_t now) {
    std::lock_guard lock(mutex_);
    auto it = pending_spawns_.find(id);
    if (it == pending_spawns_.end()) return;
    if (recording_ && it->second >= window_start_ns_) spawn_delay_.push_back(now - it->second);
    pending_spawns_.erase(it);
  }

  // Starts the stdin command thread; detached, it ends with the process.
  void start_control_thread() {
    std::thread([this] { control_loop(); }).detach();
  }

 private:
  void control_loop() {
    std::string line;
    char ch;
    for (;;) {
      ssize_t n = ::read(0, &ch, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        std::fflush(stdout);
        ::_exit(0);
      }
      if (ch != '\n') {
        line += ch;
        continue;
      }
      if (line == "start") start_window();
      if (line == "stop") report();
      line.clear();
    }
  }

  void start_window() {
    std::lock_guard lock(mutex_);
    lateness_.clear();
    spawn_delay_.clear();
    window_start_ns_ = now_ns();
    recording_ = true;
  }

  void report() {
    std::vector<std::int64_t> lateness, delay;
    std::size_t pending_ticks = 0, pending_spawns = 0;
    std::int64_t start, end;
    {
      std::lock_guard lock(mutex_);
      end = now_ns();
      start = window_start_ns_;
      recording_ = false;
      lateness.swap(lateness_);
      delay.swap(spawn_delay_);
      if (ticker_deadline_ns_ != 0 && ticker_deadline_ns_ < end) {
        lateness.push_back(end - ticker_deadline_ns_);
        ++pending_ticks;
      }
      for (const auto& [id, at] : pending_spawns_) {
        if (at < start) continue;
        delay.push_back(end - at);
        ++pending_spawns;
      }
    }
    const double window_s = double(end - start) / 1e9;
    const boost::json::object report{
        {"server", server_},
        {"window_s", window_s},
        {"tick_ms", double(tick_ns_) / 1e6},
        {"spawn_every_ms", double(spawn_every_ns_) / 1e6},
        {"lateness", json(percentiles(std::move(lateness)), pending_ticks)},
        {"spawn", json(percentiles(std::move(delay)), pending_spawns)}};
    std::printf("%s\n", boost::json::serialize(report).c_str());
    std::fflush(stdout);
  }

  static boost::json::object json(const Percentiles& p, std::size_t pending) {
    return {{"count", p.count},   {"pending", pending}, {"p50_us", p.p50_us},
            {"p90_us", p.p90_us}, {"p99_us", p.p99_us}, {"p999_us", p.p999_us},
            {"max_us", p.max_us}};
  }

  const std::string server_;
  const std::int64_t tick_ns_;
  const std::int64_t spawn_every_ns_;
  // Uncontended but for the moment of a command: the loop takes it a few hundred
  // times a second, which costs nothing against its echo traffic.
  std::mutex mutex_;
  bool recording_ = false;
  std::int64_t window_start_ns_ = 0;
  std::int64_t ticker_deadline_ns_ = 0;  // 0: the ticker is not sleeping
  std::uint64_t spawn_id_ = 0;
  std::map<std::uint64_t, std::int64_t> pending_spawns_;  // id -> when spawned
  std::vector<std::int64_t> lateness_, spawn_delay_;
};

// Command line shared by the C++ servers: --port P --tick-ms T --spawn-every-ms S.
struct Options {
  unsigned short port = 0;
  double tick_ms = 1.0;
  double spawn_every_ms = 10.0;
};

inline Options parse_options(int argc, char** argv) {
  namespace po = braid_cli::po;
  Options o;
  po::options_description opts("options");
  opts.add_options()("port", po::value(&o.port)->default_value(o.port), "0: any free port")(
      "tick-ms", po::value(&o.tick_ms)->default_value(o.tick_ms), "ticker period (> 0)")(
      "spawn-every-ms", po::value(&o.spawn_every_ms)->default_value(o.spawn_every_ms),
      "spawn period (> 0)");
  const char* usage = "[--port P] [--tick-ms T] [--spawn-every-ms S]";
  braid_cli::parse(argc, argv, usage, opts);
  if (!(o.tick_ms > 0) || !(o.spawn_every_ms > 0))
    braid_cli::fail(argv[0], usage, "--tick-ms and --spawn-every-ms must be positive");
  return o;
}

inline std::chrono::nanoseconds from_ms(double ms) {
  return std::chrono::nanoseconds(std::int64_t(ms * 1e6));
}

}  // namespace fairbench
