// Seed S9, close/join: ten tasks on a pool of three run at most three at a time.
//
//   def task(name):
//       print(f"{time.strftime('%H:%M:%S')}: {name} 开始执行")
//       time.sleep(3)
//   pool = multiprocessing.Pool(processes=3)
//   for i in range(10):
//       pool.apply_async(func=task, args=(i,))
//   pool.close()
//   pool.join()
//
// Usage: s09_pool_close_join [sleep_ms]   (default 300; the original sleeps 3 s). Each
// line shows the time since the start in units of the sleep, so the waves are visible:
// tasks 0-2 start in wave 0, 3-5 in wave 1, 6-8 in wave 2 and 9 in wave 3.
#include <braid/process/pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

using Clock = std::chrono::steady_clock;

void task(int name, int sleep_ms, Clock::time_point::rep start) {
  const auto now = Clock::now().time_since_epoch().count();
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::duration(now - start)).count();
  std::printf("wave %lld: task %d starts\n", static_cast<long long>(elapsed_ms / sleep_ms), name);
  std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
}

int main(int argc, char** argv) {
  const int sleep_ms = argc > 1 ? std::atoi(argv[1]) : 300;
  braid::process::Pool pool(3);
  const auto start = Clock::now().time_since_epoch().count();  // steady_clock is shared
  for (int i = 0; i < 10; ++i) pool.apply_async(task, std::make_tuple(i, sleep_ms, start));
  pool.close();
  pool.join();
  std::printf("all done\n");
}
