// S14 (seed 004): a Semaphore(2) lets at most two of six processes run at once.
//
//   def worker(s, i):
//       s.acquire()
//       print(time.strftime('%H:%M:%S'), multiprocessing.current_process().name + "获得锁运行")
//       time.sleep(i)
//       print(time.strftime('%H:%M:%S'), multiprocessing.current_process().name + "释放锁运行")
//       s.release()
//   if __name__ == '__main__':
//       s = multiprocessing.Semaphore(2)
//       for i in range(6):
//           p = multiprocessing.Process(target=worker, args=(s, 2))
//           p.start()
//
// (The seed writes `target=worker(s,2)`, which runs worker in the parent; the intent,
// ported here, is args=(s, 2).) Each holds the semaphore 0.2 s instead of 2 s.
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;

std::string hms() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

void worker(mp::Semaphore s, std::chrono::milliseconds hold) {
  s.acquire();
  std::printf("%s %s获得锁运行\n", hms().c_str(), mp::current_process().name().c_str());
  braid::sleep(hold);
  std::printf("%s %s释放锁运行\n", hms().c_str(), mp::current_process().name().c_str());
  s.release();
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Semaphore s(2);
  std::vector<std::unique_ptr<mp::Process>> ps;
  for (int i = 0; i < 6; ++i) {
    ps.push_back(std::make_unique<mp::Process>(worker, s, 200ms));
    ps.back()->start();
  }
  for (auto& p : ps) p->join();
}
