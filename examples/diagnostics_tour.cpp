// A tour of braid's diagnostics (docs/guide-diagnostics.md): a coroutine dump, a stall
// report for a coroutine that computes without yielding, and the hub's counters.
//
//   ./diagnostics_tour            # everything on stdout, the stall report on stderr
#include <braid/braid.hpp>

#include <cstdio>
#include <iostream>

using namespace std::chrono_literals;

namespace {

// Counts primes the slow way: 300 ms or so of CPU with no switch point.
[[gnu::noinline]] int count_primes_below(int limit) {
  int count = 0;
  for (int n = 2; n < limit; ++n) {
    bool prime = true;
    for (int d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
    count += prime ? 1 : 0;
  }
  return count;
}

}  // namespace

int main() {
  braid::enable_stall_detector(100ms);

  // Three coroutines that park in different ways.
  auto ends = braid::net::UnixStream::pair();  // `fetcher` reads ends.first; nobody writes
  braid::net::UnixStream& near = ends.first;
  braid::Queue<int> jobs;
  braid::capture_spawn_stacks(true);
  auto fetcher = braid::spawn(braid::SpawnOptions{.name = "fetcher"}, [&near] {
    char buf[64];
    near.recv(buf);
  });
  braid::capture_spawn_stacks(false);
  auto worker = braid::spawn(braid::SpawnOptions{.name = "worker"}, [&jobs] { jobs.get(); });
  auto ticker = braid::spawn(braid::SpawnOptions{.name = "ticker"}, [] {
    for (;;) braid::sleep(50ms);
  });
  braid::sleep(120ms);

  std::cout << "--- braid::dump_coroutines(std::cout)\n";
  braid::dump_coroutines(std::cout);

  std::cout << "--- a coroutine that computes for a while without yielding\n" << std::flush;
  auto hog = braid::spawn(braid::SpawnOptions{.name = "prime-counter"},
                          [] { return count_primes_below(3'000'000); });
  std::cout << "primes: " << hog.get() << "\n";
  braid::sleep(150ms);  // the ticker catches up; the watchdog sees the loop turning

  const braid::HubStats s = braid::Hub::current().stats();
  std::cout << "--- braid::Hub::current().stats()\n";
  std::printf("turns %llu, switches %llu, spawned %llu, live %llu (peak %llu), parks %llu\n",
              static_cast<unsigned long long>(s.turns), static_cast<unsigned long long>(s.switches),
              static_cast<unsigned long long>(s.spawned), static_cast<unsigned long long>(s.live),
              static_cast<unsigned long long>(s.peak_live),
              static_cast<unsigned long long>(s.parks));
  for (const auto& [kind, n] : s.parks_by_kind) {
    std::printf("  parks on %-12s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  }
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("timers fired %llu; loop lag p50 %.3f ms, p99 %.3f ms, max %.3f ms (%llu samples)\n",
              static_cast<unsigned long long>(s.timers_fired), ms(s.lag_p50), ms(s.lag_p99),
              ms(s.lag_max), static_cast<unsigned long long>(s.lag_samples));
  std::printf("longest turn %.3f ms; stall reports %llu\n", ms(s.longest_turn),
              static_cast<unsigned long long>(braid::stall_reports()));

  fetcher.kill();
  worker.kill();
  ticker.kill();
  braid::disable_stall_detector();
  return 0;
}
