// S7 (seed 000): JoinableQueue. Consumers call task_done() after each item; the producer's
// join() returns once every item put has been marked done. The seed describes the two
// methods; this is the usual shape of that program in Python:
//
//   def consumer(q):
//       while True:
//           item = q.get()
//           print('%s processed item %d' % (multiprocessing.current_process().name, item))
//           q.task_done()
//   if __name__ == '__main__':
//       q = multiprocessing.JoinableQueue()
//       for i in range(2):
//           multiprocessing.Process(target=consumer, args=(q,), daemon=True).start()
//       for item in range(10):
//           q.put(item)
//       q.join()
//       print('All tasks done')
#include <braid/process.hpp>

#include <cstdio>
#include <memory>
#include <vector>

namespace mp = braid::process;

void consumer(mp::JoinableQueue<int> q) {
  for (;;) {
    const int item = q.get();
    std::printf("%s processed item %d\n", mp::current_process().name().c_str(), item);
    q.task_done();
  }
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::JoinableQueue<int> q;
  std::vector<std::unique_ptr<mp::Process>> consumers;
  for (int i = 0; i < 2; ++i) {
    consumers.push_back(
        std::make_unique<mp::Process>(mp::ProcessOptions{.name = {}, .daemon = true}, consumer, q));
    consumers.back()->start();
  }
  for (int item = 0; item < 10; ++item) q.put(item);
  q.join();
  std::printf("All tasks done\n");
  // The daemon consumers still wait in get(): they are terminated at exit.
}
