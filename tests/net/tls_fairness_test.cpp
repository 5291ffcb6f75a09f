// The scheduling contract over TLS (docs/design.md, "The scheduling contract"): busy TLS
// streams never keep the loop from timers and other coroutines. OpenSSL hands out
// already-decrypted bytes without touching the socket, so a TLS reader can complete many
// calls in a row without parking: TlsStream counts them against the coroutine's slice.
#include <braid/net/tls_stream.hpp>

#include "tls_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using braid::net::TlsStream;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kLateBound = 300ms;  // as fairness_test.cpp: generous, a starved loop fails
constexpr auto kPeriod = 50ms;

/// The longest time between two consecutive `ticks`, less the period they were due at.
Clock::duration worst_lateness(const std::vector<Clock::time_point>& ticks) {
  Clock::duration worst = ticks.size() < 2 ? Clock::duration::max() : Clock::duration::zero();
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    worst = std::max(worst, ticks[i] - ticks[i - 1] - kPeriod);
  }
  return worst;
}

}  // namespace

TEST_CASE("a ticker stays on time while TLS streams stay busy", "[net][tls][fairness]") {
  // Each turn of the loop runs every ready coroutine once, and a writer's turn encrypts up
  // to 32 records (512 KiB): with many pairs, a turn's length measures the machine's
  // speed, not fairness. 30 pairs keep a turn well under the bound on a loaded machine.
  const int pairs = GENERATE(1, 10, 30);
  // Small reads of big records: most recv calls are served from OpenSSL's buffer.
  const std::size_t read_size = GENERATE(std::size_t{1024}, std::size_t{1});
  CAPTURE(pairs, read_size);
  std::vector<std::unique_ptr<std::pair<TlsStream, TlsStream>>> streams;
  for (int i = 0; i < pairs; ++i) {
    streams.push_back(std::make_unique<std::pair<TlsStream, TlsStream>>(braid::test::tls_pair()));
  }
  std::vector<Clock::time_point> ticks;  // each wake-up of a coroutine sleeping kPeriod
  auto ticker = braid::spawn([&ticks] {
    for (;;) {
      braid::sleep(kPeriod);
      ticks.push_back(Clock::now());
    }
  });
  std::uint64_t received = 0;
  std::vector<braid::Task<void>> load;
  for (auto& p : streams) {
    load.push_back(braid::spawn([&out = p->first] {
      const std::string chunk(std::size_t{16} * 1024, 'x');
      for (;;) out.sendall(chunk);
    }));
    load.push_back(braid::spawn([&in = p->second, &received, read_size] {
      std::string buf(read_size, '\0');
      for (;;) received += in.recv(std::span<char>(buf));
    }));
  }
  braid::sleep(1s);
  ticker.kill();
  for (auto& t : load) t.kill();
  const auto worst = worst_lateness(ticks);
  INFO(ticks.size() << " ticks, worst lateness "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(worst).count()
                    << " ms, " << received << " bytes");
  CHECK(received > 0);        // the load really ran
  CHECK(ticks.size() >= 12);  // ~19 due
  CHECK(worst < kLateBound);
}
