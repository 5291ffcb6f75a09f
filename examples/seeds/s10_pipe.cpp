// S10 (seeds 001, 002, 003, 004): Pipe. Four snippets, one after the other:
//
// 1. seed 001 -- the child receives, then answers:
//      def func(n):
//          print(n.recv())
//          n.send('from son')
//      f, s = Pipe(); p = Process(target=func, args=(s,)); p.start()
//      f.send('from father'); print(f.recv())
// 2. seed 002 -- both sides send first:
//      def run(conn):
//          conn.send("你好,我是子进程")
//          print(conn.recv())
//      parent_conn, child_conn = Pipe()
//      parent_conn.send("你好我是父进程")
//      p = Process(target=run, args=(child_conn,)); p.start(); p.join()
//      print(parent_conn.recv())
// 3. seed 004 -- two children talk through the two ends, in FIFO order (sleeps: 2 s -> 50 ms):
//      task1 sends task1-0..4, then receives five; task2 receives five, then sends five
// 4. seed 004's notes: duplex=False gives a receive-only and a send-only end, and recv()
//    on an end whose peer is closed raises EOFError.
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace mp = braid::process;
using namespace std::chrono_literals;

std::string hms() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

void func(mp::Connection& n) {
  std::printf("%s\n", n.recv<std::string>().c_str());
  n.send(std::string("from son"));
}

void run(mp::Connection& conn) {
  conn.send(std::string("你好,我是子进程"));
  std::printf("%s\n", conn.recv<std::string>().c_str());
}

void task1(mp::Connection& pipe) {
  for (int i = 0; i < 5; ++i) {
    const std::string s = "task1-" + std::to_string(i);
    std::printf("%s: task1 发送:%s\n", hms().c_str(), s.c_str());
    pipe.send(s);
  }
  braid::sleep(50ms);
  for (int i = 0; i < 5; ++i) {
    std::printf("%s: task1 接收:%s\n", hms().c_str(), pipe.recv<std::string>().c_str());
  }
}

void task2(mp::Connection& pipe) {
  for (int i = 0; i < 5; ++i) {
    std::printf("%s: task2 接收:%s\n", hms().c_str(), pipe.recv<std::string>().c_str());
  }
  braid::sleep(50ms);
  for (int i = 0; i < 5; ++i) {
    const std::string s = "task2-" + std::to_string(i);
    std::printf("%s: task2 发送:%s\n", hms().c_str(), s.c_str());
    pipe.send(s);
  }
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  {
    auto [f, s] = mp::Pipe();
    mp::Process p(func, std::ref(s));
    p.start();
    f.send(std::string("from father"));
    std::printf("%s\n", f.recv<std::string>().c_str());
    p.join();
  }
  {
    auto [parent_conn, child_conn] = mp::Pipe();
    parent_conn.send(std::string("你好我是父进程"));
    mp::Process p(run, std::ref(child_conn));
    p.start();
    p.join();
    std::printf("%s\n", parent_conn.recv<std::string>().c_str());
  }
  {
    auto pipe = mp::Pipe();
    mp::Process p1(task1, std::ref(pipe.first));
    mp::Process p2(task2, std::ref(pipe.second));
    p1.start();
    p2.start();
    p1.join();
    p2.join();
  }
  {
    auto [reader, writer] = mp::Pipe(/*duplex=*/false);
    mp::Process p([](mp::Connection& w) { w.send(std::string("one-way message")); },
                  std::ref(writer));
    p.start();
    writer.close();  // the child holds the only sending end now
    std::printf("received: %s\n", reader.recv<std::string>().c_str());
    p.join();
    try {
      reader.recv<std::string>();
    } catch (const braid::EOFError& e) {
      std::printf("EOFError: the sending end is closed\n");
    }
  }
}
