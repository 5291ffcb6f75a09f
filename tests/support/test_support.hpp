// Helpers shared by braid's tests.
#pragma once

#include <braid/runtime/log.hpp>
#include <braid/runtime/testing/manual_clock.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

namespace braid::test {

using namespace std::chrono_literals;

/// Slack allowed on top of an expected duration on a shared, noisy 2-core VM. Lower
/// bounds stay exact; upper bounds get this much room.
inline constexpr auto kSchedulingSlack = 500ms;

/// Open descriptors of this process (compare before and after to catch leaks).
inline std::size_t open_fd_count() {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

/// Captures what braid logs while alive.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("[%l] %v");
    braid::detail::log().sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = braid::detail::log().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

/// Paused time that jumps to the next timer whenever every coroutine waits (ManualClock in
/// auto_advance mode), for tests whose sleeps and timeouts only order events: they run in
/// hub order, at once, and a loaded machine cannot reorder a 1 ms timer and a 50 ms one.
struct PausedClock : braid::testing::ManualClock {
  PausedClock() : ManualClock(Mode::auto_advance) {}
};

/// Elapsed time of `f()`.
template <class F>
std::chrono::steady_clock::duration time_of(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::steady_clock::now() - t0;
}

}  // namespace braid::test
