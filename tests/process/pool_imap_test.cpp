// Pool::imap / imap_unordered stream their input: the first result does not wait for the
// input to be read, the input's error comes after the results before it (CPython's
// order), an endless input works and may be abandoned, and read-ahead is bounded.
#include <braid/process/pool.hpp>

#include <braid/coro/sleep.hpp>
#include <braid/coro/timeout.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace mp = braid::process;

namespace {

int square(int x) { return x * x; }
int nap_then(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
int fail_negative(int x) {
  if (x < 0) throw std::invalid_argument("negative input " + std::to_string(x));
  return x;
}

// An input that takes 20 ms per item (it parks, as a generator fed by I/O would).
auto slow_input(int n) {
  return std::views::iota(0, n) | std::views::transform([](int i) {
           braid::sleep(20ms);
           return i;
         });
}

// An input that yields `items` and then throws.
auto failing_input(std::vector<int> items) {
  const int n = static_cast<int>(items.size());
  return std::views::iota(0, n + 1) | std::views::transform([items](int i) {
           if (i == static_cast<int>(items.size())) throw std::runtime_error("input broke");
           return items[static_cast<std::size_t>(i)];
         });
}

template <class Range>
std::vector<int> drain(Range&& r) {
  std::vector<int> out;
  for (int v : r) out.push_back(v);
  return out;
}

// The results an iteration yields before it throws, and what it threw ("" if nothing).
struct UntilError {
  std::vector<int> got;
  std::string error;
};
template <class Range>
UntilError drain_until_error(Range&& r) {
  UntilError u;
  try {
    for (int v : r) u.got.push_back(v);
  } catch (const std::exception& e) {
    u.error = e.what();
  }
  return u;
}

}  // namespace

TEST_CASE("pool imap: the first result of a slow input does not wait for the rest",
          "[process][pool]") {
  mp::Pool pool(2);
  for (bool ordered : {true, false}) {
    INFO((ordered ? "imap" : "imap_unordered"));
    const auto t0 = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration first{};
    std::vector<int> got;
    auto range =
        ordered ? pool.imap(square, slow_input(50)) : pool.imap_unordered(square, slow_input(50));
    for (int v : range) {
      if (got.empty()) first = std::chrono::steady_clock::now() - t0;
      got.push_back(v);
    }
    const auto total = std::chrono::steady_clock::now() - t0;
    // CPython: ~27 ms. Reading the whole input first would take 1 s.
    CHECK(first < 400ms);
    CHECK(total >= 1000ms);  // the input's own pace: 50 x 20 ms
    std::printf("%s: first result after %.1f ms, all 50 after %.1f ms\n",
                ordered ? "imap" : "imap_unordered",
                std::chrono::duration<double, std::milli>(first).count(),
                std::chrono::duration<double, std::milli>(total).count());
    std::vector<int> want(50);
    for (int i = 0; i < 50; ++i) want[static_cast<std::size_t>(i)] = i * i;
    if (!ordered) std::sort(got.begin(), got.end());
    CHECK(got == want);
  }
}

TEST_CASE("pool imap: the input's error comes after the results before it", "[process][pool]") {
  mp::Pool pool(2);
  SECTION("imap, chunksize 1 and 2 (a partial chunk is still sent)") {
    for (std::size_t chunk : {1u, 2u}) {
      INFO("chunksize " << chunk);
      const UntilError u = drain_until_error(pool.imap(square, failing_input({1, 2, 3}), chunk));
      CHECK(u.got == std::vector<int>{1, 4, 9});
      CHECK(u.error == "input broke");
    }
  }
  SECTION("imap: a slow first task still comes before the input's error") {
    const UntilError u = drain_until_error(pool.imap(nap_then, failing_input({300, 0, 0})));
    CHECK(u.got == std::vector<int>{300, 0, 0});
    CHECK(u.error == "input broke");
  }
  SECTION("imap_unordered: every result of the items before it first") {
    UntilError u = drain_until_error(pool.imap_unordered(nap_then, failing_input({300, 0, 10})));
    std::sort(u.got.begin(), u.got.end());
    CHECK(u.got == std::vector<int>{0, 10, 300});
    CHECK(u.error == "input broke");
  }
  SECTION("an input that fails at once: no result, its error at the first fetch") {
    auto range = pool.imap(square, failing_input({}));  // the call itself does not throw
    CHECK_THROWS_WITH(range.begin(), "input broke");
  }
  SECTION("a task's error stands where its chunk stands, before the input's") {
    const UntilError u = drain_until_error(pool.imap(fail_negative, failing_input({1, -2, 3})));
    CHECK(u.got == std::vector<int>{1});
    CHECK_THAT(u.error, Catch::Contains("negative input -2"));
  }
}

TEST_CASE("pool imap: an endless input, abandoned early, leaves the pool usable",
          "[process][pool]") {
  mp::Pool pool(2);
  int reads = 0;
  auto counted = std::views::iota(0) | std::views::transform([&reads](int i) {
                   ++reads;
                   return i;
                 });
  {
    auto range = pool.imap(square, counted, 1, 4);
    CHECK(reads == 1);  // the call submits one chunk
    int n = 0;
    for (int v : range) {
      CHECK(v == n * n);
      if (++n == 100) break;
    }
    // Read-ahead is bounded: what was taken plus at most the window.
    CHECK(reads <= 100 + 4);
  }
  {
    std::set<int> got;
    for (int v : pool.imap_unordered(square, std::views::iota(0), 3)) {
      got.insert(v);
      if (got.size() == 50) break;
    }
    CHECK(got.size() == 50);
  }
  // An rvalue view that is not const-iterable is moved into the range.
  int k = 0;
  for (int v : pool.imap(
           square, std::views::iota(0) | std::views::filter([](int i) { return i % 2 == 0; }))) {
    CHECK(v == 4 * k * k);
    if (++k == 20) break;
  }
  std::vector<int> in(300);
  std::iota(in.begin(), in.end(), 0);
  const std::vector<int> sq = pool.map(square, in);
  REQUIRE(sq.size() == 300);
  CHECK(sq[299] == 299 * 299);
  CHECK(drain(pool.imap(square, std::vector<int>{1, 2, 3})) == std::vector<int>{1, 4, 9});
}

TEST_CASE("pool imap: breaking out of slow tasks drops the chunks no worker has yet",
          "[process][pool]") {
  mp::Pool pool(1);
  {
    // Slow tasks go one at a time to the worker: the rest of the window waits in the
    // parent, and is dropped with the range.
    int taken = 0;
    for (int v :
         pool.imap(nap_then, std::views::iota(0) | std::views::transform([](int) { return 300; }),
                   1, 8)) {
      CHECK(v == 300);
      if (++taken == 1) break;
    }
  }
  // At most the task the worker holds runs first (~300 ms), not seven more (2.1 s).
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(pool.apply(square, 5) == 25);
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited < 1500ms);
  std::printf("imap break: the next apply waited %.0f ms\n",
              std::chrono::duration<double, std::milli>(waited).count());
}

TEST_CASE("pool imap: a temporary container is kept by the range", "[process][pool]") {
  mp::Pool pool(2);
  auto range = pool.imap(square, std::vector<int>(40, 3), 7);  // read while iterating
  int n = 0;
  for (int v : range) {
    CHECK(v == 9);
    ++n;
  }
  CHECK(n == 40);
}

TEST_CASE("pool imap: a stream on a terminated pool ends with an error, never hangs",
          "[process][pool]") {
  mp::Pool pool(2);
  auto range = pool.imap(square, std::views::iota(0), 1, 4);
  auto it = range.begin();
  CHECK(*it == 0);
  pool.terminate();
  braid::Timeout guard(10s);
  // What was in flight comes out as results (those already back) or WorkerLostError;
  // then the stream says why it stopped reading. Each error leaves the iterator usable.
  int pos = 1;  // chunk (= item) number
  std::string why;
  for (int round = 0; round < 20 && why.empty(); ++round) {
    try {
      for (++it; it != std::default_sentinel; ++it) {
        CHECK(*it == pos * pos);
        ++pos;
      }
      break;
    } catch (const mp::WorkerLostError&) {
      ++pos;
    } catch (const std::logic_error& e) {
      why = e.what();
    }
  }
  CHECK(pos <= 1 + 4);  // no more than the window was ever submitted
  CHECK_THAT(why, Catch::Contains("Pool::imap: the pool was joined or terminated before the "
                                  "input was read to the end"));
}

TEST_CASE("pool imap: join() or the pool's end stops a stream not read to the end",
          "[process][pool]") {
  SECTION("close() lets it go on; join() ends it after the chunks already submitted") {
    mp::Pool pool(2);
    auto range = pool.imap(square, std::views::iota(0, 10), 1, 2);
    auto it = range.begin();
    CHECK(*it == 0);
    pool.close();
    ++it;  // a closed pool still feeds the streams it accepted
    CHECK(*it == 1);
    pool.join();
    std::vector<int> rest;
    std::string why;
    try {
      for (++it; it != std::default_sentinel; ++it) rest.push_back(*it);
    } catch (const std::logic_error& e) {
      why = e.what();
    }
    CHECK(rest.size() <= 2);  // what was in the window when join() ran
    for (std::size_t i = 0; i < rest.size(); ++i) CHECK(rest[i] == int((i + 2) * (i + 2)));
    CHECK_THAT(why, Catch::Contains("joined or terminated before the input was read"));
  }
  SECTION("a destroyed pool: lost chunks, then why") {
    auto pool = std::make_unique<mp::Pool>(2);
    auto range = pool->imap_unordered(square, std::views::iota(0), 1, 3);
    auto it = range.begin();
    pool.reset();
    braid::Timeout guard(10s);
    std::string why;
    for (int round = 0; round < 10 && why.empty(); ++round) {
      try {
        for (++it; it != std::default_sentinel; ++it) {
        }
      } catch (const mp::WorkerLostError&) {
      } catch (const std::logic_error& e) {
        why = e.what();
      }
    }
    CHECK_THAT(why, Catch::Contains("Pool::imap_unordered: the pool was destroyed before"));
  }
}

TEST_CASE("pool options: buffersize and maxtasksperchild reject 0", "[process][pool]") {
  mp::PoolOptions o;
  o.maxtasksperchild = 0;
  CHECK_THROWS_WITH(mp::Pool(1, o),
                    Catch::Contains("maxtasksperchild must be a positive int or None"));
  o.maxtasksperchild = std::nullopt;  // no limit
  mp::Pool pool(1, o);
  const pid_t first = pool.pids().at(0);
  for (int i = 0; i < 5; ++i) CHECK(pool.apply(square, i) == i * i);
  CHECK(pool.pids().at(0) == first);
  std::vector<int> in{1, 2};
  CHECK_THROWS_WITH(pool.imap(square, in, 1, 0), Catch::Contains("buffersize must be a positive"));
  CHECK_THROWS_AS(pool.imap_unordered(square, in, 1, 0), std::invalid_argument);
}
