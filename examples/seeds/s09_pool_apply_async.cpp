// Seed S9, apply_async with a callback: the task runs in a worker, the callback in the
// parent (the original prints both pids to show it).
//
//   def Foo(i):
//       time.sleep(2)
//       print('进程:', os.getpid())
//       return 'ok'
//   def Bar(arg):
//       print('-->exec done:', arg, os.getpid())
//   pool = Pool(5)
//   for i in range(10):
//       pool.apply_async(func=Foo, args=(i,), callback=Bar)
//   pool.close()
//   pool.join()
//
// Usage: s09_pool_apply_async [sleep_ms]   (default 200; the original sleeps 2 s)
#include <braid/process/pool.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

std::string foo(int /*i*/, int sleep_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  std::printf("process: %d\n", static_cast<int>(::getpid()));
  return "ok";
}

int main(int argc, char** argv) {
  const int sleep_ms = argc > 1 ? std::atoi(argv[1]) : 200;
  std::printf("parent: %d\n", static_cast<int>(::getpid()));
  std::fflush(stdout);
  braid::process::Pool pool(5);
  for (int i = 0; i < 10; ++i) {
    pool.apply_async(foo, std::make_tuple(i, sleep_ms), [](std::string arg) {
      std::printf("-->exec done: %s %d\n", arg.c_str(), static_cast<int>(::getpid()));
    });
  }
  pool.close();
  pool.join();  // waits for the tasks and their callbacks
}
