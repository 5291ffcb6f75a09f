// A braid program that is NOT linked with braid::hooks, for the LD_PRELOAD test: ten
// coroutines each make a plain blocking usleep(100 ms) call through a C library, and with
// --recv one coroutine makes a blocking recv() that another coroutine's write ends. It
// prints "elapsed_ms=<n>": about 100 with the hooks preloaded, about 1000 without.
#include <braid/coro.hpp>

#include "blocking_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const bool with_recv = argc > 1 && std::strcmp(argv[1], "--recv") == 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<braid::Task<int>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(braid::spawn([] { return bc_usleep(100'000); }));
  int sv[2] = {-1, -1};
  if (with_recv) {
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
    tasks.push_back(braid::spawn([&] {
      char c = 0;
      return bc_recv_once(sv[0], &c, 1) == 1 && c == 'x' ? 0 : 1;
    }));
    tasks.push_back(braid::spawn([&] {
      braid::sleep(50ms);
      return ::write(sv[1], "x", 1) == 1 ? 0 : 1;
    }));
  }
  int failures = 0;
  for (auto& t : tasks) failures += t.get() != 0 ? 1 : 0;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::printf("elapsed_ms=%lld failures=%d\n", static_cast<long long>(ms.count()), failures);
  return failures == 0 ? 0 : 1;
}
