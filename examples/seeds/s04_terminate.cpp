// S4 (seed 000): killing a process with terminate(), watching is_alive(), and reading the
// exit code: -15, "killed by signal 15 (SIGTERM)".
//
//   def foo():
//       print('Starting function')
//       time.sleep(0.1)
//       print('Finished function')
//   if __name__ == '__main__':
//       p = multiprocessing.Process(target=foo)
//       print('Process before execution:', p, p.is_alive())
//       p.start()
//       print('Process running:', p, p.is_alive())
//       p.terminate()
//       print('Process terminated:', p, p.is_alive())
//       p.join()
//       print('Process joined:', p, p.is_alive())
//       print('Process exit code:', p.exitcode)
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace mp = braid::process;
using namespace std::chrono_literals;

void foo() {
  std::printf("Starting function\n");
  braid::sleep(100ms);
  std::printf("Finished function\n");
}

// Python prints a Process as <Process name='Process-1' pid=123 parent=122 started>.
std::string describe(mp::Process& p) {
  std::string s = "<Process name='" + p.name() + "'";
  if (p.pid() != 0) s += " pid=" + std::to_string(p.pid());
  if (auto code = p.exitcode()) {
    s += " exitcode=" + std::to_string(*code);
  } else if (p.pid() != 0) {
    s += " started";
  } else {
    s += " initial";
  }
  return s + ">";
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Process p(foo);
  std::printf("Process before execution: %s %s\n", describe(p).c_str(),
              p.is_alive() ? "True" : "False");
  p.start();
  std::printf("Process running: %s %s\n", describe(p).c_str(), p.is_alive() ? "True" : "False");
  p.terminate();
  std::printf("Process terminated: %s %s\n", describe(p).c_str(), p.is_alive() ? "True" : "False");
  p.join();
  std::printf("Process joined: %s %s\n", describe(p).c_str(), p.is_alive() ? "True" : "False");
  std::printf("Process exit code: %d\n", *p.exitcode());
}
