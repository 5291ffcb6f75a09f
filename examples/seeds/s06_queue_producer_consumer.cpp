// S6 (seeds 000, 002, 004): a producer and a consumer process sharing a bounded Queue.
//
//   class Producer(multiprocessing.Process):
//       def run(self):
//           for i in range(10):
//               item = random.randint(0, 256)
//               self.queue.put(item)
//               print("Process Producer : item %d appended to queue %s" % (item, self.name))
//               time.sleep(1)
//               print("The size of queue is %s" % self.queue.qsize())
//   class Consumer(multiprocessing.Process):
//       def run(self):
//           while True:
//               if self.queue.empty():
//                   print("the queue is empty"); break
//               else:
//                   time.sleep(2)
//                   item = self.queue.get()
//                   print('Process Consumer : item %d popped from by %s \n' % (item, self.name))
//                   time.sleep(1)
//
// Differences: the queue is bounded (maxsize=5, as in seed 004), so the producer parks
// when it is full; sleeps are 20-40 ms; and the consumer waits up to 1 s for the next item
// before deciding the queue is empty, so it cannot quit before the producer's first put
// (the seed's empty() check races with it).
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>
#include <random>

namespace mp = braid::process;
using namespace std::chrono_literals;

class Producer : public mp::Process {
 public:
  explicit Producer(mp::Queue<int> queue) : queue_(queue) {}
  void run() override {
    std::mt19937 rng(2024);
    std::uniform_int_distribution<int> dist(0, 256);
    for (int i = 0; i < 10; ++i) {
      const int item = dist(rng);
      queue_.put(item);
      std::printf("Process Producer : item %d appended to queue %s\n", item, name().c_str());
      braid::sleep(20ms);
      std::printf("The size of queue is %zu\n", queue_.qsize());
    }
  }

 private:
  mp::Queue<int> queue_;
};

class Consumer : public mp::Process {
 public:
  explicit Consumer(mp::Queue<int> queue) : queue_(queue) {}
  void run() override {
    for (;;) {
      int item;
      try {
        item = queue_.get(1s);
      } catch (const braid::QueueEmpty&) {
        std::printf("the queue is empty\n");
        break;
      }
      std::printf("Process Consumer : item %d popped from by %s \n", item, name().c_str());
      braid::sleep(40ms);
    }
  }

 private:
  mp::Queue<int> queue_;
};

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Queue<int> queue(5);
  Producer process_producer(queue);
  Consumer process_consumer(queue);
  process_producer.start();
  process_consumer.start();
  process_producer.join();
  process_consumer.join();
}
