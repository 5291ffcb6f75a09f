// Diagnostics: Hub::stats(), dump_coroutines(), the stall detector, dump on a signal.
#include <braid/runtime/diagnostics.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/wait.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// Spins without ever reaching a switch point: the stall the detector must name.
[[gnu::noinline]] void hog_the_loop_for(Clock::duration d) {
  const auto end = Clock::now() + d;
  volatile unsigned sink = 0;
  while (Clock::now() < end) sink = sink + 1;
}

/// Turns the stall detector off when the test ends, however it ends.
struct StallDetectorOff {
  ~StallDetectorOff() { braid::disable_stall_detector(); }
};

}  // namespace

TEST_CASE("Hub::stats counts spawns, switches, parks, timers and lag", "[runtime][diagnostics]") {
  braid::Hub& hub = braid::Hub::current();
  const braid::HubStats before = hub.stats(true);
  std::vector<braid::Task<void>> tasks;
  for (int i = 0; i < 10; ++i) {
    tasks.push_back(braid::spawn([] {
      braid::sleep(5ms);
      braid::sleep(5ms);
    }));
  }
  CHECK(hub.stats().live >= 10);
  braid::joinall(tasks);
  const braid::HubStats after = hub.stats();

  CHECK(after.spawned - before.spawned == 10);
  CHECK(after.switches - before.switches >= 30);  // start + two wakes each
  CHECK(after.parks - before.parks >= 20);
  CHECK(after.turns > before.turns);
  CHECK(after.timers_fired - before.timers_fired >= 20);
  CHECK(after.live == before.live);
  CHECK(after.peak_live >= before.live + 10);
  CHECK(after.lag_samples >= 20);
  CHECK(after.lag_p50 <= after.lag_p99);
  CHECK(after.lag_p99 <= after.lag_max);
  CHECK(after.lag_max < 1s);
  CHECK(after.longest_turn > 0ns);
  auto sleep_parks = std::find_if(after.parks_by_kind.begin(), after.parks_by_kind.end(),
                                  [](const auto& k) { return k.first == "sleep"; });
  REQUIRE(sleep_parks != after.parks_by_kind.end());
  CHECK(sleep_parks->second >= 20);
  CHECK(std::is_sorted(after.parks_by_kind.begin(), after.parks_by_kind.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; }));

  // One turn is one count: a poll() is one turn, a blocking wait inside it adds none.
  const auto turns_before = hub.stats().turns;
  for (int i = 0; i < 10; ++i) hub.poll();
  CHECK(hub.stats().turns - turns_before == 10);
  const auto turns_before_wait = hub.stats().turns;
  braid::sleep(5ms);  // main parks: turns that block in the reactor until the timer
  const auto wait_turns = hub.stats().turns - turns_before_wait;
  CHECK(wait_turns >= 1);
  CHECK(wait_turns <= 5);  // 2 on epoll, 4 on io_uring (its timer updates complete too)

  // reset_window starts the lag window afresh.
  (void)hub.stats(true);
  CHECK(hub.stats().lag_samples == 0);
}

TEST_CASE("Hub::stats counts I/O handlers and the longest turn", "[runtime][diagnostics]") {
  braid::Hub& hub = braid::Hub::current();
  (void)hub.stats(true);
  const auto before = hub.stats();
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  auto reader = braid::spawn([&] { braid::wait_readable(fds[0], 2s); });
  braid::sleep(1ms);
  REQUIRE(::write(fds[1], "x", 1) == 1);
  reader.join();
  auto hog = braid::spawn([] { hog_the_loop_for(30ms); });
  hog.join();
  const auto after = hub.stats();
  ::close(fds[0]);
  ::close(fds[1]);
  CHECK(after.io_handlers > before.io_handlers);
  CHECK(after.longest_turn >= 30ms);
}

TEST_CASE("dump_coroutines lists parked coroutines with what they wait on",
          "[runtime][diagnostics]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  braid::Event never;
  braid::capture_spawn_stacks(true);
  auto sleeper = braid::spawn(braid::SpawnOptions{.name = "sleeper"}, [] { braid::sleep(1h); });
  braid::capture_spawn_stacks(false);
  auto waiter = braid::spawn(braid::SpawnOptions{.name = "waiter"}, [&] { never.wait(); });
  auto reader =
      braid::spawn(braid::SpawnOptions{.name = "reader"}, [&] { braid::wait_readable(fds[0]); });
  auto ready = braid::spawn([] {});
  braid::sleep(20ms);  // all three park; `ready` finishes
  auto later = braid::spawn(braid::SpawnOptions{.name = "later"}, [] {});  // not started yet

  const std::string dump = braid::format_coroutines();
  INFO(dump);
  CHECK(dump.find("#0 'main' running") != std::string::npos);
  CHECK(dump.find("'sleeper' parked") != std::string::npos);
  CHECK(dump.find("on sleep, spawned by #0 'main'") != std::string::npos);
  CHECK(dump.find("'waiter' parked") != std::string::npos);
  CHECK(dump.find("on Event.wait") != std::string::npos);
  CHECK(dump.find("on fd readable " + std::to_string(fds[0])) != std::string::npos);
  CHECK(dump.find("'later' not started") != std::string::npos);
  CHECK(dump.find("Task-" + std::to_string(ready.id())) == std::string::npos);  // finished
  // Only the sleeper was spawned with capture on.
  CHECK(count_of(dump, "spawned at:") == 1);
  CHECK(dump.find("spawned at:\n      #0 ") != std::string::npos);
  // Parked for about 20 ms (longer on a loaded machine): the duration is printed.
  CHECK(dump.find("s on sleep") != std::string::npos);

  std::ostringstream out;
  braid::dump_coroutines(out);
  CHECK(out.str().find("'reader' parked") != std::string::npos);

  sleeper.kill();
  waiter.kill();
  reader.kill();
  later.join();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("the stall detector reports a hogging coroutine exactly once, with its stack",
          "[runtime][diagnostics]") {
  braid::test::LogCapture log;
  StallDetectorOff off;
  const auto reports_before = braid::stall_reports();
  // 200 ms: far above a turn's length, and above what a loaded CI machine's scheduler
  // takes from a runnable thread, so only the hog below can cross it.
  braid::enable_stall_detector(200ms);
  CHECK(braid::stall_detector_threshold() == 200ms);

  // Normal work with short sleeps and switches: no report.
  std::vector<braid::Task<void>> calm;
  for (int i = 0; i < 20; ++i) {
    calm.push_back(braid::spawn([] {
      for (int k = 0; k < 10; ++k) braid::sleep(2ms);
    }));
  }
  braid::joinall(calm);
  braid::sleep(200ms);  // main waiting on a timer is not a stall either
  CHECK(braid::stall_reports() == reports_before);

  auto hog = braid::spawn(braid::SpawnOptions{.name = "hog"}, [] { hog_the_loop_for(1s); });
  hog.join();
  braid::sleep(150ms);  // the watchdog's next look sees the loop turning again
  CHECK(braid::stall_reports() == reports_before + 1);

  // main running its own code between braid calls is not a stall of the loop.
  hog_the_loop_for(500ms);
  braid::sleep(150ms);
  CHECK(braid::stall_reports() == reports_before + 1);

  braid::disable_stall_detector();
  CHECK_FALSE(braid::stall_detector_threshold().has_value());
  const std::string text = log.text();
  INFO(text);
  CHECK(count_of(text, "stall: the hub of thread") == 1);
  CHECK(text.find("running: 'hog' (#" + std::to_string(hog.id()) + ")") != std::string::npos);
  CHECK(text.find("hog_the_loop_for") != std::string::npos);
  CHECK(text.find("threshold 200") != std::string::npos);
}

TEST_CASE("dump_coroutines_on_signal dumps from the loop when the signal arrives",
          "[runtime][diagnostics]") {
  braid::test::LogCapture log;
  auto parked =
      braid::spawn(braid::SpawnOptions{.name = "parked-for-dump"}, [] { braid::sleep(1h); });
  braid::sleep(1ms);
  braid::dump_coroutines_on_signal(SIGUSR2);
  REQUIRE(::raise(SIGUSR2) == 0);
  bool dumped = false;
  for (int i = 0; i < 300 && !dumped; ++i) {
    braid::sleep(10ms);
    dumped = log.text().find("coroutine dump (signal") != std::string::npos;
  }
  parked.kill();
  CHECK(dumped);
  CHECK(log.text().find("'parked-for-dump' parked") != std::string::npos);
}

TEST_CASE("diagnostics reject bad arguments with a clear error", "[runtime][diagnostics]") {
  CHECK_THROWS_WITH(braid::enable_stall_detector(0ms),
                    Catch::Contains("threshold 0 ms is below the 1 ms minimum"));
  CHECK_THROWS_AS(braid::dump_coroutines_on_signal(SIGKILL), std::invalid_argument);
  CHECK_THROWS_WITH(braid::dump_coroutines_on_signal(0), Catch::Contains("cannot be caught"));
  CHECK_FALSE(braid::stall_detector_threshold().has_value());
}
