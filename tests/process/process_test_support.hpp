// Helpers for the process tests: descriptor counting, the zombie check, and a ticker
// coroutine that proves a wait parked only its own coroutine.
#pragma once

#include <braid/coro.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>

namespace braid::test {

using namespace std::chrono_literals;

/// Generous bound for waits that should succeed quickly (CI machines are slow).
inline constexpr auto kGenerous = 10s;

/// Open descriptors of this process (entries of /proc/self/fd, minus the one listing it).
/// Creates the hub first, so its own descriptors (epoll, the wake-up fd) are in the count.
inline std::size_t open_fd_count() {
  (void)braid::Hub::current();
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n - 3;  // ".", ".." and the DIR's own descriptor
}

/// Catch2 installs handlers for fatal signals, and forked children inherit them; a child
/// that is meant to die of a signal (terminate, kill, abort) calls this first so that it
/// dies as a plain program would instead of reporting a test failure of its own.
inline void default_signals() {
  for (int sig : {SIGTERM, SIGABRT, SIGINT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
    ::signal(sig, SIG_DFL);
}

/// True when this process has no child left, running or zombie.
inline bool no_children_left() {
  errno = 0;
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

/// A coroutine that counts 2 ms ticks until stopped: if a wait blocked the thread
/// instead of parking one coroutine, the count stays near zero.
class Ticker {
 public:
  Ticker() {
    task_ = braid::spawn([this] {
      for (;;) {
        braid::sleep(2ms);
        ticks_.fetch_add(1);
      }
    });
  }
  ~Ticker() { task_.kill(); }
  int ticks() const { return ticks_.load(); }

 private:
  std::atomic<int> ticks_{0};
  braid::Task<void> task_;
};

/// True when another coroutine gets 20 turns of the loop while `waiter` stays unfinished:
/// the wait `waiter` is parked in holds only its own coroutine, not the thread. Time plays
/// no part: the test keeps the wait from ending (a child that waits for a process-shared
/// Event) until this returns.
template <class T>
bool others_run_while_parked(const braid::Task<T>& waiter) {
  auto other = braid::spawn([&waiter] {
    for (int i = 0; i < 20; ++i) braid::yield_now();
    return !waiter.ready();
  });
  return other.get();
}

}  // namespace braid::test
