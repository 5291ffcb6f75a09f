// LD_PRELOAD=libbraid_hooks_preload.so into a braid program that was not linked with the
// hooks, and into a program without braid at all.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

namespace {

struct Run {
  int status = -1;
  std::string out;
};

// Runs `cmd` with `env` prepended (a shell command line), capturing stdout.
Run run(const std::string& env, const std::string& cmd) {
  // Under ASan the sanitizer's runtime must come first in the initial library list;
  // a preloaded library ahead of it is what this test is about.
  const std::string line = "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 " +
                           env + " " + cmd + " 2>&1";
  Run r;
  FILE* p = ::popen(line.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) r.out += buf;
  r.status = ::pclose(p);
  return r;
}

long elapsed_ms(const std::string& out) {
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("elapsed_ms=(\\d+)")));
  return std::stol(m[1]);
}

const std::string kPreload = std::string("LD_PRELOAD=") + BRAID_HOOKS_PRELOAD;

}  // namespace

TEST_CASE("preloaded hooks make a braid program's blocking C calls cooperative") {
  const Run with = run(kPreload, std::string(BRAID_HOOKS_PROBE) + " --recv");
  INFO(with.out);
  CHECK(with.status == 0);
  CHECK(elapsed_ms(with.out) < 600);  // ten 100 ms sleeps at once
}

TEST_CASE("without the preload the same program sleeps one coroutine at a time") {
  const Run without = run("", BRAID_HOOKS_PROBE);
  INFO(without.out);
  CHECK(without.status == 0);
  CHECK(elapsed_ms(without.out) >= 1000);
}

TEST_CASE("a program without braid runs unchanged with the hooks preloaded") {
  const Run r = run(kPreload, "sh -c 'sleep 0.05; printf \"%s\" ok'");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.out == "ok");
}
