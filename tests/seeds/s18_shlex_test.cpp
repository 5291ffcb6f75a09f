// Runs examples/seeds/s18_shlex and checks its whole output against what the same
// snippet prints under CPython 3.11 on Linux (the script is in the comment below).
#include <catch2/catch.hpp>

#include "run_example.hpp"

#include <sys/wait.h>
#include <cstdio>
#include <string>

namespace {

// The output of this Python 3.11 script, run on Linux:
//   import os, shlex
//   print(shlex.split('echo "Hello World"'))
//   print(shlex.split('D:/test/1.py # test'))
//   print(shlex.split('D:/test/1.py # test', comments=True))
//   print(shlex.split(r'D:\test\1.py'))
//   print(shlex.split(r'D:\test\1.py', posix=False))
//   print(shlex.split(r'D:\test\1.py', posix=os.name == 'posix'))
constexpr const char* kPythonOutput = R"(['echo', 'Hello World']
['D:/test/1.py', '#', 'test']
['D:/test/1.py']
['D:test1.py']
['D:\\test\\1.py']
['D:test1.py']
)";

}  // namespace

TEST_CASE("S18 shlex.split port prints what Python prints", "[seeds][shlex]") {
  auto r = braid::test::run_example("s18_shlex");
  CHECK(r.exit_code == 0);
  CHECK(r.out == kPythonOutput);
}
