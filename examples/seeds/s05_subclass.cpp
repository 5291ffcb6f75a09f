// S5 (seeds 000, 002, 004): a subclass of Process overriding run().
//
//   class MyProcess(multiprocessing.Process):
//       def run(self):
//           print('called run method in process: %s' % self.name)
//   if __name__ == '__main__':
//       for i in range(5):
//           p = MyProcess()
//           p.start()
//           p.join()
#include <braid/process.hpp>

#include <cstdio>

namespace mp = braid::process;

class MyProcess : public mp::Process {
 public:
  void run() override { std::printf("called run method in process: %s\n", name().c_str()); }
};

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  for (int i = 0; i < 5; ++i) {
    MyProcess p;
    p.start();
    p.join();
  }
}
