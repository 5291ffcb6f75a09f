// exit_scenarios SCENARIO: a program that leaves one braid object alive past main (a
// function-local static or a global unique_ptr, never closed or stopped), prints a line
// to a buffered stdout and returns 0. exit_*_test.cpp runs it and checks that the process
// exits with status 0 and that the line arrived: an abort in a static destructor (for
// example one that needs the thread's hub, destroyed before statics) loses both.
#include <braid/coro/sleep.hpp>
#include <braid/coro/task.hpp>
#include <braid/net/stream_server.hpp>
#include <braid/process/manager.hpp>
#include <braid/process/pool.hpp>
#include <braid/process/queue.hpp>
#include <braid/process/subprocess.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
namespace mp = braid::process;

namespace {

int square(int x) { return x * x; }

std::unique_ptr<mp::Pool> g_pool;

int pool_local_static() {
  static mp::Pool pool(2);
  std::printf("pool: %d\n", pool.apply(square, 7));
  return 0;
}

int pool_global() {
  g_pool = std::make_unique<mp::Pool>(2);
  std::printf("pool: %d\n", g_pool->apply(square, 7));
  return 0;
}

// A pool whose thread ended (its hub with it) before the pool is destroyed, in main.
int pool_thread_ended() {
  std::thread([] {
    g_pool = std::make_unique<mp::Pool>(2);
    std::printf("pool: %d\n", g_pool->apply(square, 7));
  }).join();
  return 0;
}

// A pool left with work in flight: a slow task queued and an imap half read.
int pool_busy() {
  static mp::Pool pool(2);
  static auto slow = pool.apply_async(
      [](int ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return ms;
      },
      std::make_tuple(30'000));
  static auto range = pool.imap(square, std::vector<int>(100, 3));
  std::printf("pool: %d\n", *range.begin());
  return 0;
}

int queue_global() {
  static std::unique_ptr<mp::Queue<std::string>> q;
  q = std::make_unique<mp::Queue<std::string>>();
  q->put("left behind");
  std::printf("queue: %zu\n", q->qsize());
  return 0;
}

int manager_static() {
  static mp::Manager m;
  static auto d = m.dict<std::string, int>();
  d.set("a", 1);
  std::printf("manager: %d\n", d.get("a"));
  return 0;
}

int popen_static() {
  braid::subprocess::Options o;
  o.in = braid::subprocess::PIPE;
  o.out = braid::subprocess::PIPE;
  static braid::subprocess::Popen p(std::vector<std::string>{"cat"}, o);
  std::printf("popen: %d\n", p.pid() > 0 ? 1 : 0);
  return 0;
}

int server_static() {
  static braid::net::StreamServer server("127.0.0.1", 0, [](braid::net::TcpStream&) {});
  server.start();
  std::printf("server: %d\n", server.port() > 0 ? 1 : 0);
  return 0;
}

int task_static() {
  static braid::Task<void> t = braid::spawn([] { braid::sleep(30s); });
  braid::sleep(1ms);  // let it start and park
  std::printf("task: %d\n", t.ready() ? 0 : 1);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: exit_scenarios SCENARIO\n");
    return 2;
  }
  const std::string s = argv[1];
  if (s == "pool-local-static") return pool_local_static();
  if (s == "pool-global") return pool_global();
  if (s == "pool-busy") return pool_busy();
  if (s == "pool-thread-ended") return pool_thread_ended();
  if (s == "queue-global") return queue_global();
  if (s == "manager-static") return manager_static();
  if (s == "popen-static") return popen_static();
  if (s == "server-static") return server_static();
  if (s == "task-static") return task_static();
  std::fprintf(stderr, "exit_scenarios: unknown scenario '%s'\n", s.c_str());
  return 2;
}
