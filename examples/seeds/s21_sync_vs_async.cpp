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
  int tasks = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--tasks") == 0) tasks = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--sleep-ms") == 0) g_sleep = std::chrono::milliseconds(std::atoi(argv[i + 1]));
  }
  if (tasks <= 0 || g_sleep.count() < 0) {
    std::fprintf(stderr, "usage: %s [--tasks N>0] [--sleep-ms MS>=0]\n", argv[0]);
    return 2;
  }

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
