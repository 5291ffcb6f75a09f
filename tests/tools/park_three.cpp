// The subject of the gdb helper's test (tests/tools/gdb_coroutines_test.py): parks three
// named coroutines in three different waits, plus one on a second thread's hub, then
//   (no argument)           aborts from main: a core file to inspect;
//   --abort-in-coroutine    aborts from a fifth coroutine, "aborter", so the core shows
//                           a running coroutine and the hub loop suspended under it;
//   --wait                  prints "ready" and blocks reading stdin until the driver has
//                           attached gdb and closes it.
//
// Each coroutine parks inside its own named [[gnu::noinline]] function, so even an -O2
// backtrace shows that name; the empty asm after each wait keeps the call out of tail
// position, where -O2 would turn it into a jump and drop the frame.
#include <braid/coro.hpp>

#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <thread>

using namespace std::chrono_literals;

namespace {

// Set by each coroutine just before it parks. One thread: when main sees a flag, that
// coroutine has parked, since it gives control back only by parking.
int parked = 0;

[[gnu::noinline]] void park_in_sleep() {
  ++parked;
  braid::sleep(1h);
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void park_in_event(braid::Event& never_set) {
  ++parked;
  never_set.wait();
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void park_in_pipe(int read_fd) {
  ++parked;
  braid::wait_readable(read_fd);
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void park_on_other_thread(std::atomic<bool>& flag) {
  flag = true;
  braid::sleep(1h);
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void abort_in_coroutine() { std::abort(); }

// A second thread with its own hub: one coroutine parked, the thread's loop waiting.
void other_thread(std::promise<void>& ready) {
  std::atomic<bool> flag{false};
  braid::spawn(braid::SpawnOptions{"other-thread"}, [&flag] { park_on_other_thread(flag); });
  while (!flag) braid::yield_now();
  ready.set_value();
  braid::sleep(24h);  // runs this thread's hub until the process ends
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  // Where Yama restricts ptrace to ancestors, let the driver's gdb attach anyway.
  ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);

  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("park_three: pipe");
    return 1;
  }
  braid::Event never_set;
  braid::spawn(braid::SpawnOptions{"sleeper"}, [] { park_in_sleep(); });
  braid::spawn(braid::SpawnOptions{"event-waiter"}, [&never_set] { park_in_event(never_set); });
  braid::spawn(braid::SpawnOptions{"pipe-reader"}, [fd = fds[0]] { park_in_pipe(fd); });
  while (parked < 3) braid::yield_now();

  std::promise<void> ready;
  std::thread(other_thread, std::ref(ready)).detach();
  ready.get_future().wait();

  if (std::strcmp(mode, "--abort-in-coroutine") == 0) {
    braid::spawn(braid::SpawnOptions{"aborter"}, [] { abort_in_coroutine(); });
    braid::yield_now();
  }
  if (std::strcmp(mode, "--wait") != 0) std::abort();
  std::puts("ready");
  std::fflush(stdout);
  char c;
  while (::read(STDIN_FILENO, &c, 1) > 0) {
  }
  std::_Exit(0);  // the coroutines stay parked; no shutdown to run
}
