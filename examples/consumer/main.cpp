// Built by the test suite against the installed braid package (find_package(braid)),
// so packaging can never silently break.
#include <braid/braid.hpp>

#include <cstdio>

using namespace std::chrono_literals;

int main() {
  auto t = braid::spawn([] {
    braid::sleep(1ms);
    return 6 * 7;
  });
  std::printf("braid %s: %d\n", BRAID_VERSION_STRING, t.get());
  return t.get() == 42 ? 0 : 1;
}
