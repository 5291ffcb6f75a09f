// Runs examples/seeds/s17_subprocess and checks its whole output against what the same
// snippets print under CPython 3.11 on Linux (the script is summarised in the example's
// header comment): identical but for the two lines where an exception is printed, since
// braid's errors are C++ types with their own messages.
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

// `python3 -u s17.py` (the Python in the example's comment), lines 10 and 15 replaced
// by braid's messages:
//   ValueError: read of closed file
//   FileNotFoundError: [Errno 2] No such file or directory: 'echo Hello'
constexpr const char* kExpected = R"(/
Hello
['echo', 'Hello']
True
(None, None)
0
0
-15
(b'Hello\n', None)
std::logic_error: communicate: the child's streams are finished (an earlier communicate() returned its output and closed them)
b'Hello World'
Command '['sh', '-c', 'echo started; exec sleep 10']' timed out after 0.5 seconds
b'started\n' -9
[b'test_id=1']
std::system_error: spawn 'echo Hello': No such file or directory
Hello
(None, None)
Hello
(None, None)
(None, None)
Command '['sleep', '10']' timed out after 0.5 seconds
-9
Command '['sh', '-c', 'exit 3']' returned non-zero exit status 3.
)";

}  // namespace

TEST_CASE("S17 subprocess port prints what Python prints", "[seeds][subprocess]") {
  const auto start = std::chrono::steady_clock::now();
  auto r = braid::test::run_example("s17_subprocess");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.exit_code == 0);
  CHECK(r.out == kExpected);
  // Two 0.5 s timeouts; every child that sleeps 10 s is killed, none is waited out.
  CHECK(elapsed >= std::chrono::milliseconds(1000));
  CHECK(elapsed < std::chrono::seconds(8));
}
