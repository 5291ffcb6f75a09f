// S16 (seed 004): the CPU half of the sync-vs-async benchmark. The same CPU-bound task
// twice in a row, then in two processes at once; on a machine with two or more free
// cores the second takes about half as long.
//
//   def task_process(delay):
//       num = 0
//       for i in range(delay * 10000000):
//           num += i
//       print(f"进程pid为{os.getpid()},执行完成")
//   if __name__ == '__main__':
//       print('父进程pid为 %s.' % os.getpid())
//       t0 = time.time(); task_process(3); task_process(3); t1 = time.time()
//       print(f"顺序执行耗时{t1 - t0}")
//       p0 = Process(target=task_process, args=(3,))
//       p1 = Process(target=task_process, args=(4,))
//       t2 = time.time(); p0.start(); p1.start(); p0.join(); p1.join(); t3 = time.time()
//       print(f"多进程并发执行耗时{t3 - t2}")
//
// C++ runs the loop ~100x faster than CPython, so each unit of `delay` is 100,000,000
// iterations here (argv[1] overrides it), and both processes get delay 3 so that the
// two runs do the same work (the seed gives the second process 4).
#include <braid/process.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace mp = braid::process;

long long g_unit = 100'000'000;

void task_process(int delay) {
  volatile long long num = 0;  // volatile: the loop must really run
  const long long n = delay * g_unit;
  for (long long i = 0; i < n; ++i) num = num + i;
  std::printf("进程pid为%d,执行完成\n", static_cast<int>(::getpid()));
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc > 1) g_unit = std::atoll(argv[1]);
  std::printf("父进程pid为 %d.\n", static_cast<int>(::getpid()));
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  task_process(3);
  task_process(3);
  const auto t1 = clock::now();
  std::printf("顺序执行耗时%.6f\n", std::chrono::duration<double>(t1 - t0).count());
  mp::Process p0(task_process, 3);
  mp::Process p1(task_process, 3);
  const auto t2 = clock::now();
  p0.start();
  p1.start();
  p0.join();
  p1.join();
  const auto t3 = clock::now();
  std::printf("多进程并发执行耗时%.6f\n", std::chrono::duration<double>(t3 - t2).count());
}
