// Seed S9, apply: "runs the task in a worker and blocks until the result is there".
// In braid it parks only the calling coroutine: here main, so the hub runs meanwhile.
//
//   pool = Pool(5)
//   for i in range(3):
//       print(pool.apply(func=Foo, args=(i,)))   # one after another, in a worker
#include <braid/process/pool.hpp>

#include <unistd.h>

#include <cstdio>

int foo(int i) { return i * 10; }

int main() {
  braid::process::Pool pool(5);
  for (int i = 0; i < 3; ++i) {
    const int r = pool.apply(foo, i);  // parks main until the worker answers
    std::printf("apply(foo, %d) = %d\n", i, r);
  }
  // The worker is another process; its pid differs from ours.
  const int worker = pool.apply([] { return static_cast<int>(::getpid()); });
  std::printf("worker pid differs from parent: %s\n",
              worker != static_cast<int>(::getpid()) ? "True" : "False");
  pool.close();
  pool.join();
}
