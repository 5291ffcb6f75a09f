// sleep, usleep, nanosleep and clock_nanosleep park only the calling coroutine.
#include <catch2/catch.hpp>

#include "blocking_client.h"
#include "hooks_test_support.hpp"

#include <time.h>
#include <unistd.h>

#include <functional>
#include <vector>

using namespace braid::test;

namespace {

// Runs `sleeper` in 10 coroutines at once; returns the wall time.
braid::Duration ten_at_once(std::function<int()> sleeper) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<braid::Task<int>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(braid::spawn(sleeper));
  for (auto& t : tasks) CHECK(t.get() == 0);
  return std::chrono::steady_clock::now() - t0;
}

}  // namespace

TEST_CASE("usleep in 10 coroutines x 100 ms takes about 100 ms") {
  const auto d = ten_at_once([] { return ::usleep(100'000); });
  CHECK(d >= 100ms);
  CHECK(d < 600ms);
}

TEST_CASE("usleep called by a C library parks the coroutine") {
  const auto d = ten_at_once([] { return bc_usleep(100'000); });
  CHECK(d >= 100ms);
  CHECK(d < 600ms);
}

TEST_CASE("nanosleep in 10 coroutines x 100 ms takes about 100 ms") {
  const auto d = ten_at_once([] {
    timespec req{0, 100'000'000};
    return ::nanosleep(&req, nullptr);
  });
  CHECK(d >= 100ms);
  CHECK(d < 600ms);
}

TEST_CASE("clock_nanosleep, relative and absolute, parks the coroutine") {
  const auto d = ten_at_once([] {
    timespec req{0, 100'000'000};
    return ::clock_nanosleep(CLOCK_MONOTONIC, 0, &req, nullptr);
  });
  CHECK(d >= 100ms);
  CHECK(d < 600ms);
  const auto abs = ten_at_once([] {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    timespec until{now.tv_sec, now.tv_nsec + 100'000'000};
    if (until.tv_nsec >= 1'000'000'000) until.tv_sec += 1, until.tv_nsec -= 1'000'000'000;
    return ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr);
  });
  CHECK(abs < 600ms);
}

TEST_CASE("sleep(1) in 5 coroutines takes about one second") {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<braid::Task<unsigned>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(braid::spawn([] { return ::sleep(1); }));
  for (auto& t : tasks) CHECK(t.get() == 0u);
  const auto d = std::chrono::steady_clock::now() - t0;
  CHECK(d >= 1s);
  CHECK(d < 1s + 1s);
}

TEST_CASE("bad sleep arguments fail as libc's do") {
  auto t = braid::spawn([] {
    timespec bad{0, 2'000'000'000};
    const int r = ::nanosleep(&bad, nullptr);
    const int err = errno;
    const int c = ::clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, nullptr);
    return std::vector<int>{r, err, c};
  });
  CHECK(t.get() == std::vector<int>{-1, EINVAL, EINVAL});
}

TEST_CASE("usleep(0) on a coroutine yields to the others") {
  int order = 0, other_ran_at = -1;
  auto a = braid::spawn([&] {
    ::usleep(0);
    return order++;
  });
  auto b = braid::spawn([&] { other_ran_at = order++; });
  CHECK(a.get() == 1);
  b.join();
  CHECK(other_ran_at == 0);
}

TEST_CASE("outside a coroutine, usleep blocks the thread as libc's") {
  Ticker ticker(10ms);
  braid::sleep(30ms);  // the root runs the loop: the ticker starts ticking
  const int before = ticker.ticks();
  CHECK(::usleep(100'000) == 0);  // main, not a coroutine: nothing else runs meanwhile
  CHECK(ticker.ticks() == before);
}
