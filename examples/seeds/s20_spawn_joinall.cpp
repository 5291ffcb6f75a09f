// Seed S20: gevent.spawn + gevent.sleep + gevent.joinall.
//
//   def f(n):
//       for i in range(n):
//           print(gevent.getcurrent(), i)
//           gevent.sleep(0)
//   g1 = gevent.spawn(f, 5); g2 = gevent.spawn(f, 5); g3 = gevent.spawn(f, 5)
//   gevent.joinall([g1, g2, g3])
//
// The three coroutines take turns at every sleep(0), so their lines interleave.
#include <braid/coro.hpp>

#include <cstdio>
#include <string>
#include <vector>

void f(int n, const std::string& who) {
  for (int i = 0; i < n; ++i) {
    std::printf("%s %d\n", who.c_str(), i);
    braid::sleep(std::chrono::seconds(0));
  }
}

int main() {
  std::vector<braid::Task<void>> tasks;
  for (const char* name : {"g1", "g2", "g3"}) {
    tasks.push_back(braid::spawn(braid::SpawnOptions{name}, f, 5, std::string(name)));
  }
  braid::joinall(tasks);
}
