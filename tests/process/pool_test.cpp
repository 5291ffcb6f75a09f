#include <braid/process/pool.hpp>

#include <braid/coro/event.hpp>
#include <braid/coro/sleep.hpp>
#include <braid/coro/task.hpp>
#include <braid/coro/timeout.hpp>
#include <braid/runtime/wait.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace mp = braid::process;

namespace {

int square(int x) { return x * x; }
long add3(int a, long b, short c) { return a + b + c; }
std::string greet(const std::string& name) { return "hello " + name; }
void nothing(int) {}
int whoami() { return static_cast<int>(::getpid()); }
int fail_negative(int x) {
  if (x < 0) throw std::invalid_argument("negative input " + std::to_string(x));
  return x;
}
int throw_int(int) { throw 42; }
int nap_then(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
std::size_t size_of(const std::string& s) { return s.size(); }
std::string make_big(std::size_t n) { return std::string(n, 'x'); }
std::vector<double> scale(std::vector<double> v, double k) {
  for (double& d : v) d *= k;
  return v;
}

// Reports its pid on `fd`, then waits to be killed (or for `mode` to end it).
int report_and_hang(int fd, int mode) {
  const pid_t me = ::getpid();
  (void)!::write(fd, &me, sizeof me);
  if (mode == 1) {
    ::signal(SIGABRT, SIG_DFL);  // not the test framework's handler, inherited by fork
    std::abort();
  }
  if (mode == 2) ::_exit(3);
  for (;;) ::pause();
}

struct Point {
  int x = 0, y = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, y);
  }
};
Point flip(Point p) { return {p.y, p.x}; }

int g_initialised = 0;
void init_worker() { g_initialised = 7; }
void init_throws() { throw std::runtime_error("no database"); }
int read_init() { return g_initialised; }

bool no_zombies() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

pid_t read_pid(int fd) {
  braid::wait_readable(fd, 10s);
  pid_t pid = 0;
  REQUIRE(::read(fd, &pid, sizeof pid) == static_cast<ssize_t>(sizeof pid));
  return pid;
}

}  // namespace

TEST_CASE("pool: apply runs functions and lambdas in a worker", "[process][pool]") {
  mp::Pool pool(2);
  REQUIRE(pool.processes() == 2);
  REQUIRE(pool.pids().size() == 2);
  CHECK(pool.apply(square, 7) == 49);
  CHECK(pool.apply(add3, 1, 2L, static_cast<short>(3)) == 6);
  CHECK(pool.apply(greet, "world") == "hello world");  // a C string travels as std::string
  CHECK(pool.apply([](int a, int b) { return a - b; }, 10, 4) == 6);
  CHECK(pool.apply(whoami) != ::getpid());
  const Point p = pool.apply(flip, Point{1, 2});
  CHECK((p.x == 2 && p.y == 1));
  pool.apply(nothing, 1);  // void result
}

TEST_CASE("pool: apply_async: callbacks run in the parent before the result is ready",
          "[process][pool]") {
  mp::Pool pool(2);
  int seen_pid = 0;
  int value = 0;
  bool ready_in_callback = true;
  mp::PoolResult<int> r;
  r = pool.apply_async(square, std::make_tuple(9), [&](int v) {
    value = v;
    seen_pid = ::getpid();
    ready_in_callback = r.ready();
  });
  CHECK(r.get() == 81);
  CHECK(value == 81);
  CHECK(seen_pid == ::getpid());
  CHECK_FALSE(ready_in_callback);
  CHECK(r.ready());
  CHECK(r.successful());
  CHECK(r.wait(0s));

  std::exception_ptr err;
  auto bad = pool.apply_async(fail_negative, std::make_tuple(-3), {},
                              [&](std::exception_ptr e) { err = e; });
  CHECK(bad.wait(10s));
  CHECK_FALSE(bad.successful());
  REQUIRE(err != nullptr);
  CHECK_THROWS_AS(std::rethrow_exception(err), mp::RemoteError);

  bool void_called = false;
  auto v = pool.apply_async(nothing, std::make_tuple(1), [&] { void_called = true; });
  v.get();
  CHECK(void_called);
}

TEST_CASE("pool: PoolResult get/wait honour their timeouts", "[process][pool]") {
  mp::Pool pool(1);
  auto r = pool.apply_async(nap_then, std::make_tuple(400));
  CHECK_FALSE(r.ready());
  CHECK_FALSE(r.wait(50ms));
  CHECK_THROWS_AS(r.get(10ms), braid::TimeoutError);
  CHECK(r.get(10s) == 400);
}

TEST_CASE("pool: exceptions in tasks come back as RemoteError with type and message",
          "[process][pool]") {
  mp::Pool pool(2);
  try {
    pool.apply(fail_negative, -5);
    FAIL("no exception");
  } catch (const mp::RemoteError& e) {
    CHECK(std::string(e.what()) == "std::invalid_argument: negative input -5");
    CHECK(e.type_name() == "std::invalid_argument");
    CHECK(e.remote_what() == "negative input -5");
  }
  try {
    pool.apply(throw_int, 1);
    FAIL("no exception");
  } catch (const mp::RemoteError& e) {
    CHECK(e.type_name() == "int");
  }
  std::vector<int> in{1, 2, -3, 4};
  CHECK_THROWS_AS(pool.map(fail_negative, in, 1), mp::RemoteError);
  CHECK(pool.apply(square, 3) == 9);  // the pool lives on
}

TEST_CASE("pool: map keeps input order for every chunk size", "[process][pool]") {
  mp::Pool pool(3);
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), -500);
  std::vector<int> want(in.size());
  std::transform(in.begin(), in.end(), want.begin(), square);
  for (std::size_t chunk : {0, 1, 7, 250, 5000}) {
    CHECK(pool.map(square, in, chunk) == want);
  }
  CHECK(pool.map(square, std::vector<int>{}).empty());
  // Not contiguous, not arithmetic.
  std::set<std::string> words{"a", "bb", "ccc"};
  CHECK(pool.map(size_of, words) == std::vector<std::size_t>{1, 2, 3});
  pool.map(nothing, in);  // void: returns nothing
  auto r = pool.map_async([](int x) { return x + 1; }, in, 0);
  auto got = r.get(10s);
  REQUIRE(got.size() == in.size());
  CHECK(got.front() == -499);
  CHECK(got.back() == 500);
}

TEST_CASE("pool: imap yields in input order, lazily", "[process][pool]") {
  mp::Pool pool(2);
  std::vector<int> delays{0, 600, 0, 0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int> got;
  std::chrono::steady_clock::duration first{};
  for (int v : pool.imap(nap_then, delays)) {
    if (got.empty()) first = std::chrono::steady_clock::now() - t0;
    got.push_back(v);
  }
  CHECK(got == delays);
  CHECK(first < 500ms);  // the first result did not wait for the slow one
  std::vector<int> in(200);
  std::iota(in.begin(), in.end(), 0);
  std::vector<int> sq;
  for (int v : pool.imap(square, in, 16)) sq.push_back(v);
  REQUIRE(sq.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(sq[i] == i * i);
  int n = 0;
  for (int v : pool.imap(square, std::vector<int>{})) n += v + 1;
  CHECK(n == 0);
}

TEST_CASE("pool: imap_unordered yields in completion order", "[process][pool]") {
  mp::Pool pool(2);
  std::vector<int> delays{500, 0, 10};
  std::vector<int> got;
  for (int v : pool.imap_unordered(nap_then, delays)) got.push_back(v);
  REQUIRE(got.size() == 3);
  CHECK(got.back() == 500);
  std::vector<int> in(100);
  std::iota(in.begin(), in.end(), 0);
  std::multiset<int> all;
  for (int v : pool.imap_unordered(square, in, 8)) all.insert(v);
  CHECK(all.size() == 100);
  CHECK(*all.rbegin() == 99 * 99);
}

TEST_CASE("pool: imap rethrows a failing chunk's error where it stands", "[process][pool]") {
  mp::Pool pool(2);
  std::vector<int> in{1, 2, -3, 4};
  std::vector<int> got;
  auto range = pool.imap(fail_negative, in);
  CHECK_THROWS_AS(
      [&] {
        for (int v : range) got.push_back(v);
      }(),
      mp::RemoteError);
  CHECK(got == std::vector<int>{1, 2});
}

TEST_CASE("pool: starmap applies tuples and pairs", "[process][pool]") {
  mp::Pool pool(2);
  std::vector<std::tuple<int, long, short>> t{{1, 2, 3}, {4, 5, 6}};
  CHECK(pool.starmap(add3, t) == std::vector<long>{6, 15});
  std::vector<std::pair<int, int>> pairs{{5, 1}, {9, 3}};
  CHECK(pool.starmap([](int a, int b) { return a / b; }, pairs) == std::vector<int>{5, 3});
  auto r = pool.starmap_async(add3, t);
  CHECK(r.get(10s) == std::vector<long>{6, 15});
}

TEST_CASE("pool: large arguments and results travel whole", "[process][pool]") {
  mp::Pool pool(2);
  const std::string big(6 << 20, 'q');
  CHECK(pool.apply(size_of, big) == big.size());
  const std::string back = pool.apply(make_big, std::size_t{5 << 20});
  CHECK(back.size() == (5u << 20));
  CHECK(back.find_first_not_of('x') == std::string::npos);
  std::vector<double> v(1 << 20, 1.5);
  const auto w = pool.apply(scale, v, 2.0);
  REQUIRE(w.size() == v.size());
  CHECK(w.front() == 3.0);
  CHECK(w.back() == 3.0);
  std::vector<int> many(2'000'000, 3);
  const auto sq = pool.map(square, many);
  CHECK(sq.size() == many.size());
  CHECK(std::all_of(sq.begin(), sq.end(), [](int x) { return x == 9; }));
}

TEST_CASE("a worker SIGKILLed mid-task fails its task within a second and the pool goes on",
          "[process][pool][fork]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  {
    mp::Pool pool(1);
    auto r = pool.apply_async(report_and_hang, std::make_tuple(fds[1], 0));
    const pid_t victim = read_pid(fds[0]);
    REQUIRE(::kill(victim, SIGKILL) == 0);
    const auto t = braid::test::time_of([&] { CHECK(r.wait(5s)); });
    CHECK(t < 1s);
    REQUIRE_FALSE(r.successful());
    try {
      r.get();
      FAIL("no exception");
    } catch (const mp::WorkerLostError& e) {
      CHECK_THAT(e.what(), Catch::Contains("signal 9"));
      CHECK_THAT(e.what(), Catch::Contains(std::to_string(victim)));
    }
    CHECK(pool.apply(square, 12) == 144);
    REQUIRE(pool.pids().size() == 1);
    CHECK(pool.pids().front() != victim);
  }
  ::close(fds[0]);
  ::close(fds[1]);
  CHECK(no_zombies());
}

TEST_CASE("pool: a worker that aborts or calls _exit mid-task is replaced",
          "[process][pool][fork]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  {
    mp::Pool pool(2);
    auto crash = pool.apply_async(report_and_hang, std::make_tuple(fds[1], 1));
    (void)read_pid(fds[0]);
    CHECK_THROWS_WITH(crash.get(5s), Catch::Contains("signal 6"));
    auto quit = pool.apply_async(report_and_hang, std::make_tuple(fds[1], 2));
    (void)read_pid(fds[0]);
    CHECK_THROWS_WITH(quit.get(5s), Catch::Contains("exited with status 3"));
    std::vector<int> in(100, 2);
    CHECK(pool.map(square, in, 1) == std::vector<int>(100, 4));
  }
  ::close(fds[0]);
  ::close(fds[1]);
  CHECK(no_zombies());
}

TEST_CASE("pool: maxtasksperchild recycles workers", "[process][pool]") {
  mp::PoolOptions o;
  o.maxtasksperchild = 2;
  mp::Pool pool(1, o);
  std::vector<int> pids;
  for (int i = 0; i < 6; ++i) pids.push_back(pool.apply(whoami));
  CHECK(pids[0] == pids[1]);
  CHECK(pids[2] == pids[3]);
  CHECK(pids[4] == pids[5]);
  CHECK(std::set<int>(pids.begin(), pids.end()).size() == 3);
  // Chunks count as tasks; a map larger than one worker's budget still completes.
  std::vector<int> in(40, 3);
  CHECK(pool.map(square, in, 4) == std::vector<int>(40, 9));
  pool.close();
  pool.join();
  CHECK(no_zombies());
}

TEST_CASE("the initializer runs in each worker and a failing one fails tasks, not the pool",
          "[process][pool]") {
  {
    mp::PoolOptions o;
    o.initializer = init_worker;
    mp::Pool pool(2, o);
    CHECK(pool.apply(read_init) == 7);
    CHECK(g_initialised == 0);  // not in the parent
  }
  mp::PoolOptions bad;
  bad.initializer = init_throws;
  mp::Pool pool(1, bad);
  CHECK_THROWS_WITH(pool.apply(read_init),
                    Catch::Contains("initializer") && Catch::Contains("no database"));
}

TEST_CASE("50 coroutines share a pool while a ticker keeps ticking", "[process][pool]") {
  mp::Pool pool(2);
  int ticks = 0;
  bool done = false;
  auto ticker = braid::spawn([&] {
    while (!done) {
      braid::sleep(5ms);
      ++ticks;
    }
  });
  std::vector<braid::Task<int>> users;
  for (int i = 0; i < 50; ++i) {
    users.push_back(braid::spawn([&pool, i] { return pool.apply(nap_then, 10) + i; }));
  }
  const auto t = braid::test::time_of([&] { REQUIRE(braid::joinall(users, 30s)); });
  done = true;
  ticker.join();
  for (int i = 0; i < 50; ++i) CHECK(users[i].get() == 10 + i);
  // 50 tasks of 10 ms on 2 workers take >= 250 ms; a blocked hub would not tick meanwhile.
  CHECK(t >= 250ms);
  CHECK(ticks >= static_cast<int>(t / 5ms) / 3);
}

TEST_CASE("a pool works the same inside a coroutine", "[process][pool]") {
  auto t = braid::spawn([] {
    mp::Pool pool(2);
    std::vector<int> in{1, 2, 3};
    auto out = pool.map(square, in);
    pool.close();
    pool.join();
    return out;
  });
  CHECK(t.get() == std::vector<int>{1, 4, 9});
  CHECK(no_zombies());
}

TEST_CASE("an idle pool does not keep the loop alive", "[process][pool]") {
  mp::Pool pool(1);
  CHECK(pool.apply(square, 2) == 4);
  braid::Event never;
  CHECK_THROWS_AS(never.wait(), braid::LoopExit);
}

TEST_CASE("pool: close, join and terminate", "[process][pool]") {
  SECTION("submitting after close is a logic_error") {
    mp::Pool pool(1);
    CHECK_THROWS_AS(pool.join(), std::logic_error);  // not closed yet
    pool.close();
    CHECK_THROWS_WITH(pool.apply(square, 1), Catch::Contains("closed"));
    CHECK_THROWS_AS(pool.apply_async(square, std::make_tuple(1)), std::logic_error);
    std::vector<int> in{1};
    CHECK_THROWS_AS(pool.map(square, in), std::logic_error);
    pool.join();
    pool.join();  // twice is fine
  }
  SECTION("join waits for queued work and its callbacks") {
    mp::Pool pool(2);
    int called = 0;
    std::vector<mp::PoolResult<int>> rs;
    for (int i = 0; i < 10; ++i) {
      rs.push_back(pool.apply_async(nap_then, std::make_tuple(20), [&](int) { ++called; }));
    }
    pool.close();
    pool.join();
    CHECK(called == 10);
    for (auto& r : rs) CHECK(r.ready());
    CHECK(pool.pids().empty());
    CHECK(no_zombies());
  }
  SECTION("terminate fails what is pending and leaves no zombie") {
    mp::Pool pool(2);
    auto r = pool.apply_async(nap_then, std::make_tuple(10000));
    auto q = pool.map_async(nap_then, std::vector<int>(6, 10000));
    const auto t = braid::test::time_of([&] { pool.terminate(); });
    CHECK(t < 2s);
    CHECK_THROWS_AS(r.get(1s), mp::WorkerLostError);
    CHECK_THROWS_AS(q.get(1s), mp::WorkerLostError);
    CHECK(no_zombies());
    pool.terminate();
    pool.join();
    CHECK_THROWS_AS(pool.apply(square, 1), std::logic_error);
  }
}

TEST_CASE("destroying a pool leaves no zombies and no descriptors", "[process][pool]") {
  (void)braid::Hub::current();  // the hub's own descriptors exist before we count
  const std::size_t before = braid::test::open_fd_count();
  for (int round = 0; round < 3; ++round) {
    mp::Pool pool(3);
    std::vector<int> in(100, 1);
    CHECK(pool.map(square, in).size() == 100);
    auto r = pool.apply_async(nap_then, std::make_tuple(5000));  // still running at exit
    (void)r;
  }
  CHECK(no_zombies());
  CHECK(braid::test::open_fd_count() == before);
}
