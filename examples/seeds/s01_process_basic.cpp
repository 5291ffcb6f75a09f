// S1 (seed 000): five processes, each running foo(i); each is joined before the next
// starts. The Python it ports:
//
//   def foo(i):
//       print('called function in process: %s' % i)
//   if __name__ == '__main__':
//       for i in range(5):
//           p = multiprocessing.Process(target=foo, args=(i,))
//           p.start()
//           p.join()
#include <braid/process.hpp>

#include <cstdio>

namespace mp = braid::process;

void foo(int i) { std::printf("called function in process: %d\n", i); }

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines in the order they happen, even in a pipe
  for (int i = 0; i < 5; ++i) {
    mp::Process p(foo, i);
    p.start();
    p.join();
  }
}
