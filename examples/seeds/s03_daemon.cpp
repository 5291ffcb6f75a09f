// S3 (seeds 000, 004): daemon vs non-daemon background processes. At the parent's exit the
// daemon child is terminated, the non-daemon child is waited for, so only the non-daemon
// one gets to print "Exiting".
//
//   def foo():
//       name = multiprocessing.current_process().name
//       print("Starting %s " % name)
//       time.sleep(3)
//       print("Exiting %s " % name)
//   if __name__ == '__main__':
//       background_process = multiprocessing.Process(name='background_process', target=foo)
//       background_process.daemon = True
//       NO_background_process = multiprocessing.Process(name='NO_background_process', target=foo)
//       NO_background_process.daemon = False
//       background_process.start()
//       NO_background_process.start()
//
// The sleep is 0.5 s instead of 3 s.
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>

namespace mp = braid::process;
using namespace std::chrono_literals;

void foo() {
  const std::string& name = mp::current_process().name();
  std::printf("Starting %s \n", name.c_str());
  braid::sleep(500ms);
  std::printf("Exiting %s \n", name.c_str());
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Process background_process(mp::ProcessOptions{.name = "background_process", .daemon = {}},
                                 foo);
  background_process.set_daemon(true);
  mp::Process no_background_process(
      mp::ProcessOptions{.name = "NO_background_process", .daemon = {}}, foo);
  no_background_process.set_daemon(false);
  background_process.start();
  no_background_process.start();
}
