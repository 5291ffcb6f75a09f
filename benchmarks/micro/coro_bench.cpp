// coro_bench: switch, spawn and hand-off costs of braid's hub and coroutines, with their
// baselines in the same binary (a bare Boost.Context fiber switch pair; an Asio post).
//
// Every braid benchmark also measures the bare switch pair right before its own loop and
// reports `x_bare_pair` (its CPU ns per iteration over the bare pair's) and `bare_pair_ns`,
// so a ratio comes from one moment of one run even on a noisy machine. Both use the
// thread's CPU clock, so time the thread spends preempted by other work counts in neither.
// benchmarks/run_coro_benchmarks.py runs this with repetitions and reports medians.
//
// What one iteration is:
//   BM_BareFiberSwitchPair   main -> fiber -> main (two context switches).
//   BM_BareFiberSwitchPairCalled  the same, the fiber switching back from inside a
//                            non-inlined function: the floor for a yield() that is a call.
//   BM_YieldRoundTrip        one coroutine's yield_now(): coroutine -> hub -> coroutine.
//                            The benchmark loop runs inside the coroutine; main is parked
//                            in join() and the hub's loop runs on its stack, so main's own
//                            code is not in the timed region.
//   BM_SleepZero             the same with braid::sleep(0s) (must not arm a timer).
//   BM_SpawnJoin             spawn a trivial task from main and join it.
//   BM_EventPingPong         one hand-off: coroutine A sets B's Event and parks on its own;
//                            the hub resumes B. Both coroutines advance the same loop
//                            (State::KeepRunning), so one iteration is one hand-off.
//   BM_QueuePingPong         the same through two braid::Queue<int>.
//   BM_AsioPostBaseline      boost::asio::post + run_one on an io_context (hint 1).
//   BM_AsioZeroTimerBaseline an already-expired asio::steady_timer's async_wait + run_one:
//                            what sleep(0) would cost if it went through a kernel timer.
#include <braid/coro.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <utility>

namespace {

using namespace std::chrono_literals;

// Switches back to `back` from inside a function of its own, as any yield() that is a
// call (not inlined into the caller) must: its `ret` after the switch is the one extra.
[[gnu::noinline]] void switch_back_called(boost::context::fiber& back) {
  back = std::move(back).resume();
  asm volatile("");  // keeps the call a call
}

// A bare Boost.Context fiber that bounces straight back: each switch_pair() is one
// resume into it and one back out, the floor any coroutine runtime builds on. With
// kCalled, the fiber switches back from inside a non-inlined function (see above).
template <bool kCalled>
class BareFiberT {
 public:
  BareFiberT()
      : fiber_(std::allocator_arg, boost::context::fixedsize_stack(64 * 1024),
               [this](boost::context::fiber&& back) {
                 while (!stop_) {
                   if constexpr (kCalled) {
                     switch_back_called(back);
                   } else {
                     back = std::move(back).resume();
                   }
                 }
                 return std::move(back);
               }) {}
  BareFiberT(const BareFiberT&) = delete;
  BareFiberT& operator=(const BareFiberT&) = delete;
  ~BareFiberT() {
    stop_ = true;
    if (fiber_) fiber_ = std::move(fiber_).resume();  // lets the body return
  }

  void switch_pair() { fiber_ = std::move(fiber_).resume(); }

 private:
  bool stop_ = false;
  boost::context::fiber fiber_;
};
using BareFiber = BareFiberT<false>;

// The calling thread's CPU time in ns (excludes time spent preempted).
double thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// CPU ns per bare switch pair: the median of 5 short runs (about 5 ms in all).
double bare_pair_ns() {
  BareFiber f;
  for (int i = 0; i < 10'000; ++i) f.switch_pair();  // warm up
  std::array<double, 5> runs{};
  for (double& r : runs) {
    constexpr int kPairs = 200'000;
    const double t0 = thread_cpu_ns();
    for (int i = 0; i < kPairs; ++i) f.switch_pair();
    r = (thread_cpu_ns() - t0) / kPairs;
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

// Times a region by the thread's CPU clock so a benchmark can report its ratio to the
// bare switch pair measured just before it.
class RatioToBare {
 public:
  explicit RatioToBare(benchmark::State& state) : state_(state), bare_(bare_pair_ns()) {}
  void start() { t0_ = thread_cpu_ns(); }
  void stop(std::int64_t ops) {
    const double per_op = ops > 0 ? (thread_cpu_ns() - t0_) / static_cast<double>(ops) : 0.0;
    state_.counters["bare_pair_ns"] = bare_;
    state_.counters["x_bare_pair"] = bare_ > 0 ? per_op / bare_ : 0.0;
  }

 private:
  benchmark::State& state_;
  double bare_;
  double t0_ = 0;
};

void BM_BareFiberSwitchPair(benchmark::State& state) {
  BareFiber f;
  for (auto _ : state) f.switch_pair();
}
BENCHMARK(BM_BareFiberSwitchPair);

// The same pair with one `ret` between the switches on the fiber's side: after a context
// switch the CPU's return-address predictor holds the other stack's addresses, so that
// return is mispredicted. No yield that is a function call can do better than this.
void BM_BareFiberSwitchPairCalled(benchmark::State& state) {
  BareFiberT<true> f;
  RatioToBare ratio(state);
  ratio.start();
  for (auto _ : state) f.switch_pair();
  ratio.stop(state.iterations());
}
BENCHMARK(BM_BareFiberSwitchPairCalled);

void BM_YieldRoundTrip(benchmark::State& state) {
  RatioToBare ratio(state);
  auto t = braid::spawn([&] {
    ratio.start();
    for (auto _ : state) braid::yield_now();
    ratio.stop(state.iterations());
  });
  t.get();
}
BENCHMARK(BM_YieldRoundTrip);

void BM_SleepZero(benchmark::State& state) {
  RatioToBare ratio(state);
  auto t = braid::spawn([&] {
    ratio.start();
    for (auto _ : state) braid::sleep(0s);
    ratio.stop(state.iterations());
  });
  t.get();
}
BENCHMARK(BM_SleepZero);

// One turn of an idle loop: Hub::poll() with nothing ready, no timer due, no I/O (the
// ready, timer and I/O phases, the last one a non-blocking reactor poll). What the loop's
// own bookkeeping (Hub::stats() counters, the stall detector's heartbeat) costs per turn
// shows here first: docs/benchmarks.md, "Diagnostics".
void BM_HubPollIdleTurn(benchmark::State& state) {
  braid::Hub& hub = braid::Hub::current();
  for (auto _ : state) benchmark::DoNotOptimize(hub.poll());
}
BENCHMARK(BM_HubPollIdleTurn);

void BM_SpawnJoin(benchmark::State& state) {
  RatioToBare ratio(state);
  ratio.start();
  for (auto _ : state) {
    auto t = braid::spawn([] {});
    t.join();
  }
  ratio.stop(state.iterations());
}
BENCHMARK(BM_SpawnJoin);

void BM_EventPingPong(benchmark::State& state) {
  RatioToBare ratio(state);
  braid::Event to_a;
  braid::Event to_b;
  bool done = false;
  // Each side: count one iteration, hand control to the other, wait for it back. The
  // side whose KeepRunning() returns false (the loop is finished) releases the other.
  auto a = braid::spawn([&] {
    ratio.start();
    for (;;) {
      if (!state.KeepRunning()) {
        done = true;
        to_b.set();
        return;
      }
      to_b.set();
      to_a.wait();
      to_a.clear();
      if (done) return;
    }
  });
  auto b = braid::spawn([&] {
    for (;;) {
      to_b.wait();
      to_b.clear();
      if (done) return;
      if (!state.KeepRunning()) {
        done = true;
        to_a.set();
        return;
      }
      to_a.set();
    }
  });
  braid::joinall(a, b);
  ratio.stop(state.iterations());
}
BENCHMARK(BM_EventPingPong);

void BM_QueuePingPong(benchmark::State& state) {
  RatioToBare ratio(state);
  braid::Queue<int> to_a;
  braid::Queue<int> to_b;
  // -1 means "the loop is finished": the receiver stops without counting.
  auto a = braid::spawn([&] {
    ratio.start();
    for (;;) {
      if (!state.KeepRunning()) {
        to_b.put(-1);
        return;
      }
      to_b.put(1);
      if (to_a.get() < 0) return;
    }
  });
  auto b = braid::spawn([&] {
    for (;;) {
      if (to_b.get() < 0) return;
      if (!state.KeepRunning()) {
        to_a.put(-1);
        return;
      }
      to_a.put(1);
    }
  });
  braid::joinall(a, b);
  ratio.stop(state.iterations());
}
BENCHMARK(BM_QueuePingPong);

void BM_AsioPostBaseline(benchmark::State& state) {
  boost::asio::io_context ctx(1);  // as the hub's
  auto guard = boost::asio::make_work_guard(ctx);
  std::int64_t ran = 0;
  for (auto _ : state) {
    boost::asio::post(ctx, [&ran] { ++ran; });
    ctx.run_one();
  }
  benchmark::DoNotOptimize(ran);
}
BENCHMARK(BM_AsioPostBaseline);

void BM_AsioZeroTimerBaseline(benchmark::State& state) {
  boost::asio::io_context ctx(1);
  auto guard = boost::asio::make_work_guard(ctx);
  boost::asio::steady_timer timer(ctx);
  std::int64_t ran = 0;
  for (auto _ : state) {
    timer.expires_after(0s);
    timer.async_wait([&ran](const boost::system::error_code&) { ++ran; });
    ctx.run_one();
  }
  benchmark::DoNotOptimize(ran);
}
BENCHMARK(BM_AsioZeroTimerBaseline);

}  // namespace

BENCHMARK_MAIN();
