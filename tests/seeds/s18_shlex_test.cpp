// Runs examples/seeds/s18_shlex and checks its whole output against what the same
// snippet prints under CPython 3.11 on Linux (the script is in the comment below).
#include <catch2/catch.hpp>

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

struct RunResult {
  std::string output;  // everything the program wrote to stdout
  int status;          // pclose() status, as from waitpid()
};

RunResult run_example(const std::string& path) {
  FILE* pipe = ::popen(path.c_str(), "r");
  REQUIRE(pipe != nullptr);
  RunResult r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.output.append(buf, n);
  r.status = ::pclose(pipe);
  return r;
}

}  // namespace

TEST_CASE("S18 shlex.split port prints what Python prints", "[seeds][shlex]") {
  RunResult r = run_example(BRAID_EXAMPLES_DIR "/s18_shlex");
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  CHECK(r.output == kPythonOutput);
}
