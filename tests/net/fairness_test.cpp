// The scheduling contract under load (docs/design.md, "The scheduling contract"): while
// sockets stay busy, every turn of the loop still runs due timers and ready coroutines.
// Each case keeps socket pairs streaming (a writer looping sendall of 16 KiB, a reader
// looping recv of 1 KiB, so neither ever has to wait for long) and checks that timers,
// sleeps, spawns, per-call timeouts, Timeout scopes, posts and stop() stay on time.
// Bounds are generous (the contract promises ~1 ms; these allow hundreds) so that a
// loaded CI machine under ASan passes, while a starving loop, which never runs them at
// all, fails.
#include <braid/net/unix_socket.hpp>

#include "net_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using braid::net::TcpStream;
using braid::net::UnixStream;
using Clock = std::chrono::steady_clock;

// These cases run in every build, io_uring's included: they are what found the stale
// user data of Asio 1.81's io_uring cancel requests (runtime/src/asio_private.cpp).

namespace {

/// Generous bound on how late a timer or a spawned coroutine may run under load.
constexpr auto kLateBound = 300ms;

/// `pairs` Unix socket pairs kept busy by two coroutines each until stop().
class BusySockets {
 public:
  explicit BusySockets(int pairs) {
    for (int i = 0; i < pairs; ++i) {
      auto [a, b] = UnixStream::pair();
      ends_.push_back(std::move(a));
      ends_.push_back(std::move(b));
    }
    for (int i = 0; i < pairs; ++i) {
      UnixStream& out = ends_[2 * i];
      UnixStream& in = ends_[2 * i + 1];
      tasks_.push_back(braid::spawn([&out] {
        const std::string chunk(16 * 1024, 'x');
        try {
          for (;;) out.sendall(chunk);
        } catch (const std::system_error&) {
          // stop() shut this end down: the send fails, the writer ends
        }
      }));
      tasks_.push_back(braid::spawn([this, &in] {
        char buf[1024];
        for (;;) {
          const std::size_t n = in.recv(buf);
          if (n == 0) return;
          received_ += n;
        }
      }));
    }
  }
  BusySockets(const BusySockets&) = delete;
  BusySockets& operator=(const BusySockets&) = delete;
  ~BusySockets() { stop(); }

  /// Bytes the readers have received so far.
  std::uint64_t received() const { return received_; }

  void stop() {
    // Writers end on EPIPE, readers at EOF, and a kill covers the rest.
    for (std::size_t i = 0; i < ends_.size(); i += 2) {
      if (ends_[i].native_handle() >= 0) ends_[i].shutdown_write();
    }
    for (auto& t : tasks_) t.kill(false);
    bool all_ended = true;
    for (auto& t : tasks_) all_ended = t.join(5s) && all_ended;
    CHECK(all_ended);
    tasks_.clear();
    ends_.clear();
  }

 private:
  std::vector<UnixStream> ends_;
  std::vector<braid::Task<void>> tasks_;
  std::uint64_t received_ = 0;
};

/// Sleeps `period` in a loop and records how late each wake-up was.
struct Ticker {
  std::vector<Clock::duration> lateness;
  braid::Task<void> task;

  explicit Ticker(Clock::duration period) {
    task = braid::spawn([this, period] {
      for (;;) {
        const auto due = Clock::now() + period;
        braid::sleep(period);
        lateness.push_back(Clock::now() - due);
      }
    });
  }
  ~Ticker() { task.kill(); }
  Clock::duration max_late() const {
    return lateness.empty() ? Clock::duration::max()
                            : *std::max_element(lateness.begin(), lateness.end());
  }
};

template <class F>
Clock::duration time_of(F&& f) {
  const auto t0 = Clock::now();
  f();
  return Clock::now() - t0;
}

std::string ms(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0) +
         " ms";
}

}  // namespace

TEST_CASE("timers, spawns, sleeps and per-call timeouts stay on time while sockets stay busy",
          "[net][fairness]") {
  const int pairs = GENERATE(1, 10, 200);
  CAPTURE(pairs);
  Ticker ticker(100ms);  // queued first, so it is asleep before the load starts
  BusySockets load(pairs);

  // A coroutine spawned while the load runs starts promptly.
  Clock::duration spawn_delay = Clock::duration::max();
  auto spawner = braid::spawn([&] {
    braid::sleep(300ms);
    const auto asked = Clock::now();
    braid::spawn([&] { spawn_delay = Clock::now() - asked; }).join();
  });

  // A per-call timeout on an idle socket fires.
  Clock::duration timeout_after = Clock::duration::max();
  auto idle_reader = braid::spawn([&] {
    auto [idle, peer] = UnixStream::pair();
    idle.set_timeout(500ms);
    char buf[16];
    const auto t0 = Clock::now();
    try {
      idle.recv(buf);
    } catch (const braid::TimeoutError&) {
      timeout_after = Clock::now() - t0;
    }
  });

  // main's own sleep returns.
  const auto slept = time_of([] { braid::sleep(1s); });
  REQUIRE(spawner.join(5s));
  REQUIRE(idle_reader.join(5s));
  const auto ticks = ticker.lateness.size();
  const auto worst = ticker.max_late();
  const auto bytes = load.received();
  load.stop();

  INFO("main slept " << ms(slept) << ", " << ticks << " ticks, worst lateness " << ms(worst)
                     << ", spawn delay " << ms(spawn_delay) << ", timeout after "
                     << ms(timeout_after) << ", " << bytes << " bytes streamed");
  CHECK(bytes > 0);  // the load really ran
  CHECK(slept >= 1s);
  CHECK(slept < 1s + kLateBound);
  CHECK(ticks >= 6);  // ~9 due in 1 s
  CHECK(worst < kLateBound);
  CHECK(spawn_delay < kLateBound);
  CHECK(timeout_after >= 500ms);
  CHECK(timeout_after < 500ms + kLateBound);
}

TEST_CASE("a Timeout scope and with_timeout fire while sockets stay busy", "[net][fairness]") {
  BusySockets load(10);
  braid::sleep(50ms);  // let the load get going
  braid::Event never;
  const auto scoped = time_of([&] {
    braid::Timeout t(200ms);
    CHECK_THROWS_AS(never.wait(), braid::TimeoutError);
  });
  CHECK(scoped >= 200ms);
  CHECK(scoped < 200ms + kLateBound);
  const auto wrapped = time_of([&] {
    CHECK_THROWS_AS(braid::with_timeout(200ms, [&] { never.wait(); }), braid::TimeoutError);
  });
  CHECK(wrapped < 200ms + kLateBound);
  CHECK(load.received() > 0);
}

TEST_CASE("Hub::run() under busy sockets: spawn_later runs and stop() ends the loop",
          "[net][fairness]") {
  braid::Hub& hub = braid::Hub::current();
  std::unique_ptr<BusySockets> load;
  Clock::duration later_delay = Clock::duration::max();
  const auto t0 = Clock::now();
  braid::spawn([&] { load = std::make_unique<BusySockets>(10); });
  braid::spawn_later(200ms, [&] {
    later_delay = Clock::now() - t0 - 200ms;
    hub.stop();  // with the load still streaming
  });
  hub.run();
  const auto ran_for = Clock::now() - t0;
  INFO("spawn_later late by " << ms(later_delay) << ", run() returned after " << ms(ran_for));
  CHECK(later_delay < kLateBound);
  CHECK(ran_for < 200ms + kLateBound);
  REQUIRE(load != nullptr);
  CHECK(load->received() > 0);
  load.reset();  // kills the load's coroutines (their hub runs them to their end)
}

TEST_CASE("another thread's post runs promptly while sockets stay busy", "[net][fairness]") {
  BusySockets load(10);
  braid::Hub& hub = braid::Hub::current();
  braid::Event ran;
  Clock::time_point posted_at{};
  Clock::duration delay = Clock::duration::max();
  braid::Hub::KeepAlive keep(hub);
  std::thread poster([&] {
    std::this_thread::sleep_for(100ms);
    posted_at = Clock::now();
    hub.post([&] {
      delay = Clock::now() - posted_at;
      ran.set();
    });
  });
  const bool done = ran.wait(5s);
  poster.join();
  REQUIRE(done);
  INFO("post ran after " << ms(delay));
  CHECK(delay < kLateBound);
}

TEST_CASE("Hub::poll() returns promptly while sockets stay busy", "[net][fairness][embed]") {
  braid::Hub& hub = braid::Hub::current();
  std::unique_ptr<BusySockets> load;
  braid::spawn([&] { load = std::make_unique<BusySockets>(10); });
  // A host loop that calls poll() between its own work: each call must come back.
  Clock::duration worst{};
  const auto until = Clock::now() + 500ms;
  std::size_t calls = 0;
  while (Clock::now() < until) {
    const auto t0 = Clock::now();
    hub.poll();
    worst = std::max(worst, Clock::now() - t0);
    ++calls;
  }
  INFO(calls << " poll() calls, the longest took " << ms(worst));
  REQUIRE(load != nullptr);
  CHECK(load->received() > 0);
  CHECK(calls > 10);
  CHECK(worst < 100ms);
  load.reset();
  hub.poll();
}

TEST_CASE("an echo server streaming to many clients keeps a ticker on time", "[net][fairness]") {
  const int clients = braid::test::kSelectReactor ? 100 : 300;
  braid::test::raise_fd_limit(4 * clients + 64);
  Ticker ticker(50ms);
  auto listener = braid::net::TcpListener::bind("127.0.0.1", 0);
  std::vector<braid::Task<void>> tasks;
  tasks.push_back(braid::spawn([&] {
    for (;;) {
      auto conn = std::make_shared<TcpStream>(listener.accept());
      braid::spawn([conn] {
        char buf[4096];
        try {
          for (;;) {
            const std::size_t n = conn->recv(buf);
            if (n == 0) return;
            conn->sendall(std::string_view(buf, n));
          }
        } catch (const std::system_error&) {
          // the test ends by closing clients mid-stream: a reset is expected
        }
      });
    }
  }));
  std::uint64_t echoed = 0;
  for (int i = 0; i < clients; ++i) {
    tasks.push_back(braid::spawn([&] {
      auto c = TcpStream::connect("127.0.0.1", listener.port(), 5s);
      const std::string msg(512, 'e');
      char buf[4096];
      for (;;) {
        c.sendall(msg);
        std::size_t got = 0;
        while (got < msg.size()) {
          const std::size_t n = c.recv(std::span<char>(buf, msg.size() - got));
          if (n == 0) return;
          got += n;
        }
        echoed += got;
      }
    }));
  }
  braid::sleep(1s);
  const auto worst = ticker.max_late();
  const auto ticks = ticker.lateness.size();
  for (auto& t : tasks) t.kill();
  INFO(ticks << " ticks, worst lateness " << ms(worst) << ", " << echoed << " bytes echoed");
  CHECK(echoed > 0);
  CHECK(ticks >= 12);  // ~19 due
  CHECK(worst < kLateBound);
}
