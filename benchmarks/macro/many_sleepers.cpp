// many_sleepers: spawn N coroutines that each sleep, join them all, and print one JSON
// object with the wall time (first spawn to last one done), the resident memory each
// coroutine costs and the CPU time used. DESIGN.md's target: 100,000 coroutines sleeping
// 0.5 s each are all done in <= 0.75 s with <= 4.5 KiB resident per coroutine, and
// 1,000,000 must work (stacks come from slabs, so vm.max_map_count is no limit).
//
// Usage: many_sleepers [--count N] [--sleep-ms MS] [--stack-kib K]
//   N = 100000, MS = 500, K = 0 (braid's default stack size).
//
// Memory: VmRSS is read from /proc/self/status before the first spawn and again by a
// coroutine spawned after all the sleepers (the ready queue is FIFO, so by then every
// sleeper has run up to its sleep and parked); VmHWM is read once all are done. The
// per-coroutine figures divide the growth by N: one touched stack page, the task's state
// (shared record, handle, timer-heap slot) and whatever the allocator keeps around it.
#include "sleepers_common.hpp"

#include <braid/coro.hpp>

#include <chrono>
#include <vector>

namespace {

using sleepers::Clock;

boost::json::object stats_json(const braid::StackPoolStats& s) {
  return {{"slabs", s.slabs},
          {"in_use", s.in_use},
          {"free", s.free},
          {"guard_install", s.guard_install}};
}

}  // namespace

int main(int argc, char** argv) {
  const sleepers::Options opt = sleepers::parse(argc, argv, 0, false);
  const auto nap = std::chrono::milliseconds(opt.sleep_ms);
  braid::Hub::current();  // the hub and its io_context exist before the baseline reading

  sleepers::Readings r;
  r.before = sleepers::read_mem();
  ::getrusage(RUSAGE_SELF, &r.ru0);
  r.t0 = Clock::now();

  std::vector<braid::Task<void>> tasks;
  tasks.reserve(opt.count);
  const braid::SpawnOptions spawn_opts{"", opt.stack_kib * 1024};
  for (std::size_t i = 0; i < opt.count; ++i) {
    tasks.push_back(braid::spawn(spawn_opts, [nap] { braid::sleep(nap); }));
  }
  r.t_spawned = Clock::now();

  // Runs once every sleeper has parked in its sleep.
  braid::StackPoolStats pool_sleeping;
  auto sampler = braid::spawn([&] {
    r.t_parked = Clock::now();
    ::getrusage(RUSAGE_SELF, &r.ru_parked);
    r.sleeping = sleepers::read_mem();
    pool_sleeping = braid::stack_pool_stats();
  });
  sampler.join();
  braid::joinall(tasks);
  r.t_done = Clock::now();

  ::getrusage(RUSAGE_SELF, &r.ru1);
  r.after = sleepers::read_mem();
  const braid::StackPoolStats pool_after = braid::stack_pool_stats();
  std::size_t failed = 0;
  for (auto& t : tasks) failed += t.successful() ? 0 : 1;

  const std::size_t stack_kib =
      opt.stack_kib != 0 ? opt.stack_kib : braid::default_stack_size() / 1024;
  boost::json::object out = sleepers::report("braid", opt, stack_kib, r, failed);
  out["stack_pool_sleeping"] = stats_json(pool_sleeping);
  out["stack_pool_after"] = stats_json(pool_after);
  sleepers::print(out);
  return failed == 0 ? 0 : 1;
}
