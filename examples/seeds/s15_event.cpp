// S15 (seed 004): an Event set, cleared and waited for (with and without a timeout)
// between processes. Times are a tenth of the seed's (1 s -> 0.1 s, 8 s -> 0.8 s, a 5 s
// timeout -> 0.5 s); the message still says what the seed says.
//
//   def with_for_event(e):
//       e.wait(); time.sleep(1); e.clear()
//       print(f"{time.strftime('%H:%M:%S')}:进程A:我们是兄弟,我等你...")
//       e.wait()
//       print(f"{time.strftime('%H:%M:%S')}:进程A:好的,是兄弟一起走")
//   def wait_for_event_timeout(e, t):
//       e.wait(); time.sleep(1); e.clear()
//       print(f"{time.strftime('%H:%M:%S')}:进程B:好吧,最多等你{t}秒")
//       e.wait(t)
//       print(f"{time.strftime('%H:%M:%S')}:进程B:我要继续往前走了")
//   if __name__ == '__main__':
//       e = multiprocessing.Event()
//       w1 = multiprocessing.Process(target=with_for_event, args=(e,))
//       w2 = multiprocessing.Process(target=wait_for_event_timeout, args=(e, 5))
//       w1.start(); w2.start()
//       print(f"{time.strftime('%H:%M:%S')}:主进程:谁等我下,我需要8秒时间")
//       e.set(); time.sleep(8)
//       print(f"{time.strftime('%H:%M:%S')}:好的,我赶上了")
//       e.set(); w1.join(); w2.join()
//       print(f"{time.strftime('%H:%M:%S')}:主进程:退出")
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

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

void with_for_event(mp::Event e) {
  e.wait();
  braid::sleep(100ms);
  e.clear();
  std::printf("%s:进程A:我们是兄弟,我等你...\n", hms().c_str());
  e.wait();
  std::printf("%s:进程A:好的,是兄弟一起走\n", hms().c_str());
}

void wait_for_event_timeout(mp::Event e, int t) {
  e.wait();
  braid::sleep(100ms);
  e.clear();
  std::printf("%s:进程B:好吧,最多等你%d秒\n", hms().c_str(), t);
  e.wait(std::chrono::milliseconds(t * 100));
  std::printf("%s:进程B:我要继续往前走了\n", hms().c_str());
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Event e;
  mp::Process w1(with_for_event, e);
  mp::Process w2(wait_for_event_timeout, e, 5);
  w1.start();
  w2.start();
  std::printf("%s:主进程:谁等我下,我需要8秒时间\n", hms().c_str());
  e.set();
  braid::sleep(800ms);
  std::printf("%s:好的,我赶上了\n", hms().c_str());
  e.set();
  w1.join();
  w2.join();
  std::printf("%s:主进程:退出\n", hms().c_str());
}
