// Checks that a client call parks only its own coroutine: a Ticker goes on meanwhile,
// and a kill ends the call at once.
#pragma once

#include <braid/coro.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>

namespace braid::test::clients {

class Ticker {
 public:
  Ticker()
      : task_(braid::spawn([this] {
          while (!done_) {
            braid::sleep(std::chrono::milliseconds(10));
            ++ticks_;
          }
        })) {}
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  ~Ticker() { stop(); }

  /// Stops it (after its current tick) and returns the ticks counted.
  int stop() {
    done_ = true;
    task_.join();
    return ticks_;
  }

 private:
  bool done_ = false;
  int ticks_ = 0;
  braid::Task<void> task_;
};

/// Runs `call` (which must park, e.g. a query that takes seconds) in a coroutine, kills
/// that coroutine once it has parked, and checks that it ended at once, unsuccessfully.
inline void check_kill_while_parked(const std::function<void()>& call) {
  braid::Event started;
  auto t = braid::spawn([&] {
    started.set();
    call();  // parks: only then does the waiter below run on
  });
  REQUIRE(started.wait(std::chrono::seconds(10)));
  const auto t0 = std::chrono::steady_clock::now();
  t.kill();
  CHECK(t.ready());
  CHECK_FALSE(t.successful());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}

}  // namespace braid::test::clients
