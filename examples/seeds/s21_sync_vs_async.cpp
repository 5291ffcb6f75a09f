// Seed S21: the same tasks run one after another and then concurrently.
//
//   def task(pid):
//       gevent.sleep(0.5)
//       print('Task %s done' % pid)
//   def synchronous():
//       for i in range(1, 10): task(i)
//   def asynchronous():
//       threads = [gevent.spawn(task, i) for i in range(10)]
//       gevent.joinall(threads)
//
// Usage: s21_sync_vs_async [--tasks N] [--sleep-ms MS]
#include "../cli.hpp"

#include <braid/coro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

std::chrono::milliseconds g_sleep{500};

void task(int pid) {
  braid::sleep(g_sleep);
  std::printf("Task %d done\n", pid);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int tasks = 10, sleep_ms = static_cast<int>(g_sleep.count());
  braid_cli::po::options_description opts("options");
  opts.add_options()("tasks", braid_cli::po::value(&tasks)->default_value(tasks), "tasks (> 0)")(
      "sleep-ms", braid_cli::po::value(&sleep_ms)->default_value(sleep_ms), "each task's sleep");
  const char* usage = "[--tasks N>0] [--sleep-ms MS>=0]";
  braid_cli::parse(argc, argv, usage, opts);
  if (tasks <= 0 || sleep_ms < 0) braid_cli::fail(argv[0], usage, "a value is out of range");
  g_sleep = std::chrono::milliseconds(sleep_ms);

  std::puts("Synchronous:");
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < tasks; ++i) task(i);
  const double sync_s = seconds_since(t0);

  std::puts("Asynchronous:");
  t0 = std::chrono::steady_clock::now();
  std::vector<braid::Task<void>> running;
  for (int i = 0; i < tasks; ++i) running.push_back(braid::spawn(task, i));
  braid::joinall(running);
  const double async_s = seconds_since(t0);

  std::printf("synchronous: %.3f s\nasynchronous: %.3f s\nspeed-up: %.1fx\n", sync_s, async_s,
              sync_s / async_s);
}
