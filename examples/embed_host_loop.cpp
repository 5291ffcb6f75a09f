// Embedding: an application with its own main loop (a game loop, a GUI) drives the hub a
// slice at a time. Each frame it runs whatever braid has ready with poll(), then sleeps
// in its own poll(2) on the hub's descriptor until the next frame is due or braid has
// work, whichever comes first — no spinning, no thread.
//
// Usage: embed_host_loop [--frames N]
#include <braid/coro.hpp>

#include "cli.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int frames = 30;
  braid_cli::po::options_description opts("options");
  opts.add_options()("frames", braid_cli::po::value(&frames)->default_value(frames), "frames");
  braid_cli::parse(argc, argv, "[--frames N]", opts);
  braid::Hub& hub = braid::Hub::current();

  // Background work the host does not schedule itself: a coroutine that ticks.
  int ticks = 0;
  auto ticker = braid::spawn([&] {
    for (;;) {
      braid::sleep(5ms);
      ++ticks;
    }
  });

  constexpr auto kFrame = 16ms;  // ~60 frames per second
  auto next_frame = Clock::now();
  Clock::duration worst_lateness{};
  for (int frame = 0; frame < frames; ++frame) {
    worst_lateness = std::max(worst_lateness, Clock::now() - next_frame);
    next_frame += kFrame;
    // ... the application's own frame work would go here ...
    for (;;) {
      hub.poll();  // run ready coroutines, timers and I/O; never blocks
      const auto now = Clock::now();
      if (now >= next_frame) break;
      auto wait = next_frame - now;
      if (auto braid_wait = hub.next_timeout()) wait = std::min(wait, *braid_wait);
      pollfd p{hub.native_handle(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    }
  }
  ticker.kill();
  std::printf("frames: %d\nticks while rendering: %d\nworst frame lateness: %lld ms\n", frames,
              ticks,
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(worst_lateness).count()));
}
