// S2 (seeds 000, 003): naming processes. A process given a name keeps it; others are
// "Process-N" (N counts every Process created, named or not); inside a child,
// current_process() is the child's own Process, and in the parent it is "MainProcess".
//
//   def foo():
//       name = multiprocessing.current_process().name
//       print("Starting %s \n" % name)
//       time.sleep(3)
//       print("Exiting %s \n" % name)
//   if __name__ == '__main__':
//       process_with_name = multiprocessing.Process(name='foo_process', target=foo)
//       process_with_default_name = multiprocessing.Process(target=foo)
//       process_with_name.start()
//       process_with_default_name.start()
//
// (The seed notes that its `process_with_name.daemon = True` line must be removed to get
// the output shown; it is left out here.) The sleep is 0.3 s instead of 3 s. main() returns
// without joining: non-daemon children are joined at exit, as in Python.
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>

namespace mp = braid::process;
using namespace std::chrono_literals;

void foo() {
  const std::string& name = mp::current_process().name();
  std::printf("Starting %s \n", name.c_str());
  braid::sleep(300ms);
  std::printf("Exiting %s \n", name.c_str());
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("main is %s\n", mp::current_process().name().c_str());
  mp::Process process_with_name(mp::ProcessOptions{.name = "foo_process", .daemon = {}}, foo);
  mp::Process process_with_default_name(foo);
  process_with_name.start();
  process_with_default_name.start();
}
