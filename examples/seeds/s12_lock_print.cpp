// S12 (seeds 001, 002, 004): a process-shared Lock serialising output.
//
// Seed 002 -- ten processes print under the lock:
//   def run(l):
//       l.acquire(); print("hello multiprocessing"); l.release()
//   l = Lock()
//   for i in range(10): Process(target=run, args=(l,)).start()
// Seed 004 -- three tasks, each printing four lines (1 s apart, 50 ms here) while holding
// the lock, the first with `with lock:`, the others with acquire()/release(); a task's
// lines are never interleaved with another's.
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;

void run(mp::Lock l) {
  l.acquire();
  std::printf("hello multiprocessing\n");
  l.release();
}

void task(mp::Lock lock, int id) {
  if (id == 1) {
    std::lock_guard with(lock);  // Python's `with lock:`
    for (int n = 5; n > 1; --n) {
      std::printf("task%d 输出信息\n", id);
      braid::sleep(50ms);
    }
    return;
  }
  lock.acquire();
  for (int n = 5; n > 1; --n) {
    std::printf("task%d 输出信息\n", id);
    braid::sleep(50ms);
  }
  lock.release();
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Lock l;
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int i = 0; i < 10; ++i) {
    ps.push_back(std::make_unique<mp::Process>(run, l));
    ps.back()->start();
  }
  for (auto& p : ps) p->join();
  ps.clear();
  mp::Lock lock;
  for (int id = 1; id <= 3; ++id) {
    ps.push_back(std::make_unique<mp::Process>(task, lock, id));
    ps.back()->start();
  }
  for (auto& p : ps) p->join();
}
