// Embedding: the hub runs on a background thread; the application's threads hand it
// work and get results back through std::future.
#include <braid/coro.hpp>

#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

int main() {
  braid::HubThread io;  // starts a thread running a hub until destroyed

  std::vector<std::thread> workers;
  std::vector<int> results(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      // Each call runs as a coroutine on the hub thread; 10 ms sleeps there overlap.
      std::future<int> r = io.submit([w] {
        braid::sleep(10ms);
        return w * w;
      });
      results[w] = r.get();
    });
  }
  for (auto& t : workers) t.join();
  for (int w = 0; w < 4; ++w) std::printf("worker %d got %d\n", w, results[w]);
}
