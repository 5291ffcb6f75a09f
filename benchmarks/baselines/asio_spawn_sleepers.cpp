// asio_spawn_sleepers: the boost::asio::spawn baseline for braid's many_sleepers.
//
// N stackful coroutines (boost::asio::spawn on Boost.Context fibers, one io_context on
// one thread, 64 KiB fixed-size stacks as an Asio user would pick) each wait on a
// steady_timer, written the way an Asio user would write it. Prints the same JSON as
// benchmarks/macro/many_sleepers.cpp. Built from benchmarks/macro/CMakeLists.txt.
//
// Usage: asio_spawn_sleepers [--count N] [--sleep-ms MS] [--stack-kib K]
//   N = 100000, MS = 500, K = 64.
#include "../macro/sleepers_common.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include <chrono>

namespace asio = boost::asio;
using sleepers::Clock;

int main(int argc, char** argv) {
  const sleepers::Options opt = sleepers::parse(argc, argv, 64, true);
  const auto nap = std::chrono::milliseconds(opt.sleep_ms);
  asio::io_context ctx(1);

  sleepers::Readings r;
  r.before = sleepers::read_mem();
  ::getrusage(RUSAGE_SELF, &r.ru0);
  r.t0 = Clock::now();

  std::size_t finished = 0;
  for (std::size_t i = 0; i < opt.count; ++i) {
    asio::spawn(
        ctx, std::allocator_arg, boost::context::fixedsize_stack(opt.stack_kib * 1024),
        [&ctx, &finished, nap](asio::yield_context yield) {
          asio::steady_timer timer(ctx, nap);
          timer.async_wait(yield);
          ++finished;
        },
        asio::detached);
  }
  r.t_spawned = Clock::now();

  // Spawned last, so it starts once every sleeper has started its wait.
  asio::spawn(
      ctx,
      [&](asio::yield_context) {
        r.t_parked = Clock::now();
        ::getrusage(RUSAGE_SELF, &r.ru_parked);
        r.sleeping = sleepers::read_mem();
      },
      asio::detached);
  ctx.run();
  r.t_done = Clock::now();

  ::getrusage(RUSAGE_SELF, &r.ru1);
  r.after = sleepers::read_mem();
  sleepers::print(sleepers::report("asio_spawn", opt, opt.stack_kib, r, opt.count - finished));
  return finished == opt.count ? 0 : 1;
}
