// The process module's loops yield to the hub: a 1 ms ticker coroutine keeps ticking on
// time while communicate() drains a child writing hundreds of MiB, while a Pool maps
// many tiny items, and while a Queue is filled and drained as fast as it goes.
#include <braid/coro.hpp>
#include <braid/process/pool.hpp>
#include <braid/process/queue.hpp>
#include <braid/process/subprocess.hpp>
#include <braid/process/synchronize.hpp>

#include <catch2/catch.hpp>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace sp = braid::subprocess;
namespace mp = braid::process;

namespace {

using Clock = std::chrono::steady_clock;

// The most CPU time this thread may spend between two ticks: work the hub did while a due
// timer waited. Before the loops cooperated a tick waited 100-330 ms (communicate of
// 200 MiB, almost all of it CPU: one copy of everything read so far); cooperating loops
// keep it to a few ms. Generous for a 2-core VM running sanitizers. CPU time rather than
// the wall-clock gap, which also counts the time other processes (the pool's workers, the
// child, other jobs on the machine) held the CPU: that is the OS's doing, not the hub's.
// Under AddressSanitizer every copy and allocation costs several times more (a 128 MiB
// communicate's longest step measured 77 ms there, 10-13 ms in a plain Debug build).
#if defined(BRAID_ASAN) || defined(BRAID_TSAN)
constexpr auto kMaxBusy = 200ms;
#else
constexpr auto kMaxBusy = 50ms;
#endif

double thread_cpu_ms() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// A coroutine that sleeps 1 ms in a loop and records, while measure() runs, the longest
// time between two of its wake-ups and the most CPU time the thread used in between.
class GapTicker {
 public:
  GapTicker() {
    task_ = braid::spawn([this] {
      for (;;) {
        braid::sleep(1ms);
        const auto now = Clock::now();
        const double cpu = thread_cpu_ms();
        if (measuring_) {
          max_gap_ = std::max(max_gap_, now - last_);
          max_busy_ms_ = std::max(max_busy_ms_, cpu - last_cpu_);
          ++ticks_;
        }
        last_ = now;
        last_cpu_ = cpu;
      }
    });
    braid::sleep(5ms);  // let it start
  }
  ~GapTicker() { task_.kill(); }
  GapTicker(const GapTicker&) = delete;
  GapTicker& operator=(const GapTicker&) = delete;

  // Runs `f` with the gaps measured; returns the most CPU time spent between two ticks.
  template <class F>
  std::chrono::duration<double, std::milli> measure(F&& f) {
    max_gap_ = {};
    max_busy_ms_ = 0;
    ticks_ = 0;
    last_ = Clock::now();  // what ran before f() is not f()'s doing
    last_cpu_ = thread_cpu_ms();
    measuring_ = true;
    f();
    braid::sleep(2ms);  // a tick right after f() counts the gap that ended with it
    measuring_ = false;
    return std::chrono::duration<double, std::milli>(max_busy_ms_);
  }
  long ticks() const { return ticks_; }
  Clock::duration max_gap() const { return max_gap_; }

 private:
  bool measuring_ = false;
  Clock::time_point last_ = Clock::now();  // the ticker's previous wake-up
  double last_cpu_ = 0;                    // and the thread's CPU time then
  Clock::duration max_gap_{};
  double max_busy_ms_ = 0;
  long ticks_ = 0;
  braid::Task<void> task_;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// For the report: the figures beside the bound.
void note(const char* what, const GapTicker& t, std::chrono::duration<double, std::milli> busy) {
  std::fprintf(stderr,
               "fairness: %s: longest tick gap %.1f ms (wall), most CPU between ticks %.1f ms, "
               "%ld ticks\n",
               what, ms(t.max_gap()), busy.count(), t.ticks());
}

sp::Options pipes(sp::Stdio out, sp::Stdio err) {
  sp::Options o;
  o.out = out;
  o.err = err;
  return o;
}

int twice(int x) { return 2 * x; }

}  // namespace

TEST_CASE("communicate() draining 128 MiB of stdout leaves a 1 ms ticker on time",
          "[process][subprocess][fairness]") {
  GapTicker ticker;
  std::string out;
  const auto gap = ticker.measure([&] {
    sp::Popen p({"head", "-c", "128M", "/dev/zero"}, pipes(sp::PIPE, sp::INHERIT));
    out = p.communicate().first;
    CHECK(p.returncode() == 0);
  });
  note("communicate 128 MiB stdout", ticker, gap);
  CHECK(out.size() == std::size_t{128} << 20);
  CHECK(ticker.ticks() > 0);
  CHECK(gap < kMaxBusy);
}

TEST_CASE("communicate() draining stdout and stderr together leaves a 1 ms ticker on time",
          "[process][subprocess][fairness]") {
  GapTicker ticker;
  std::pair<std::string, std::string> got;
  const auto gap = ticker.measure([&] {
    sp::Popen p({"sh", "-c", "head -c 48M /dev/zero >&2 & head -c 48M /dev/zero; wait"},
                pipes(sp::PIPE, sp::PIPE));
    got = p.communicate();
    CHECK(p.returncode() == 0);
  });
  note("communicate 48+48 MiB stdout+stderr", ticker, gap);
  CHECK(got.first.size() == std::size_t{48} << 20);
  CHECK(got.second.size() == std::size_t{48} << 20);
  CHECK(gap < kMaxBusy);
}

TEST_CASE("communicate() feeding 64 MiB to cat and reading it back leaves a ticker on time",
          "[process][subprocess][fairness]") {
  GapTicker ticker;
  const std::string input(std::size_t{64} << 20, 'z');
  std::string feed = input;  // moved in: copying 64 MiB is the caller's own work
  std::string out;
  const auto gap = ticker.measure([&] {
    sp::Options o;
    o.in = sp::PIPE;
    o.out = sp::PIPE;
    sp::Popen p({"cat"}, o);
    out = p.communicate(std::move(feed)).first;
  });
  note("communicate 64 MiB through cat", ticker, gap);
  CHECK(out == input);
  CHECK(gap < kMaxBusy);
}

TEST_CASE("Pool::map of many tiny items leaves a 1 ms ticker on time",
          "[process][pool][fork][fairness]") {
  mp::Pool pool(2);
  std::vector<int> in(200'000);
  std::iota(in.begin(), in.end(), 0);
  GapTicker ticker;
  std::vector<int> out;
  const auto gap = ticker.measure([&] { out = pool.map(twice, in, 1); });
  note("Pool::map 200k items, chunksize 1", ticker, gap);
  REQUIRE(out.size() == in.size());
  CHECK(out[12345] == 24690);
  CHECK(out.back() == 2 * in.back());
  CHECK(gap < kMaxBusy);
}

TEST_CASE("a Queue filled and drained as fast as it goes leaves a 1 ms ticker on time",
          "[process][queue][fairness]") {
  mp::Queue<int> q;
  GapTicker ticker;
  long sum = 0;
  constexpr int kItems = 300'000;
  const auto gap = ticker.measure([&] {
    auto producer = braid::spawn([&] {
      for (int i = 0; i < kItems; ++i) q.put(i);
    });
    for (int i = 0; i < kItems; ++i) sum += q.get();
    producer.get();
  });
  note("Queue 300k puts and gets", ticker, gap);
  CHECK(sum == static_cast<long>(kItems) * (kItems - 1) / 2);
  CHECK(gap < kMaxBusy);
}

TEST_CASE("a Timeout that fires while communicate() grows a big buffer loses no output",
          "[process][subprocess][fairness]") {
  // 17-byte lines: a lost or repeated 64 KiB piece would break the pattern.
  const std::string line = "0123456789abcdef\n";
  constexpr std::size_t kBytes = std::size_t{48} << 20;
  sp::Popen p({"sh", "-c", "yes 0123456789abcdef | head -c " + std::to_string(kBytes)},
              pipes(sp::PIPE, sp::INHERIT));
  bool timed_out = false;
  try {
    braid::Timeout t(20ms);
    (void)p.communicate();
  } catch (const braid::TimeoutError&) {
    timed_out = true;
  }
  const std::string out = p.communicate().first;
  CHECK(timed_out);
  REQUIRE(out.size() == kBytes);
  std::size_t bad = 0;
  for (std::size_t i = 0; i + line.size() <= out.size(); i += line.size()) {
    if (out.compare(i, line.size(), line) != 0) ++bad;
  }
  CHECK(bad == 0);
}

// Loops of operations that never park used to be unstoppable: a Timeout is delivered at a
// switch point, and none came. Each operation is one now (through Hub::cooperate()).
template <class F>
long loop_until_timeout(F&& op) {
  long n = 0;
  try {
    braid::Timeout t(20ms);
    for (;;) {
      op();
      ++n;
    }
  } catch (const braid::TimeoutError&) {
  }
  return n;
}

TEST_CASE("a Timeout ends a loop of Queue puts and gets that never parks",
          "[process][queue][fairness]") {
  mp::Queue<int> q;
  const long n = loop_until_timeout([&] {
    q.put(1);
    (void)q.get();
  });
  CHECK(n > 0);
  CHECK(q.qsize() <= 1);  // a get interrupted before it took the item just put
}

TEST_CASE("a Timeout ends a loop of uncontended shared Lock and Semaphore acquires",
          "[process][synchronize][fairness]") {
  mp::Lock lock;
  mp::Semaphore sem(1);
  const long n = loop_until_timeout([&] {
    lock.acquire();
    lock.release();
    sem.acquire();
    sem.release();
  });
  CHECK(n > 0);
  CHECK_FALSE(lock.locked());  // interrupted before an acquire, never between the two
  CHECK(sem.value() == 1);
}

TEST_CASE("map_async that yields while encoding sees a close() made meanwhile",
          "[process][pool][fork][fairness]") {
  mp::Pool pool(1);
  std::vector<int> in(200'000, 1);
  auto closer = braid::spawn([&] { pool.close(); });  // runs at map_async's first yield
  CHECK_THROWS_WITH(pool.map_async(twice, in, 1),
                    Catch::Contains("Pool::map_async: the pool is closed"));
  closer.get();
  pool.join();  // nothing of the map was submitted: nothing to wait for
}
