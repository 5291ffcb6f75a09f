// Seed S9, terminate: "立刻关闭进程池" (close the pool at once). Work still running is
// abandoned: its results fail with WorkerLostError, and no worker is left a zombie.
//
//   pool = Pool(2)
//   r = pool.apply_async(very_long_task)
//   pool.terminate()
//   pool.join()
#include <braid/process/pool.hpp>

#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

int very_long_task(int seconds) {
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return seconds;
}

int main() {
  namespace mp = braid::process;
  mp::Pool pool(2);
  auto r = pool.apply_async(very_long_task, std::make_tuple(60));
  std::printf("workers: %zu\n", pool.pids().size());
  const auto t0 = std::chrono::steady_clock::now();
  pool.terminate();
  pool.join();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("terminated in under a second: %s\n", ms < 1000 ? "True" : "False");
  try {
    r.get();
  } catch (const mp::WorkerLostError& e) {
    std::printf("result: WorkerLostError: %s\n", e.what());
  }
  int status = 0;
  const bool none_left = ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
  std::printf("zombies left: %s\n", none_left ? "none" : "some");
  try {
    pool.apply(very_long_task, 1);
  } catch (const std::logic_error& e) {
    std::printf("submit after terminate: %s\n", e.what());
  }
}
