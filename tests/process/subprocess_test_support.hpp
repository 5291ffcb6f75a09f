// What the subprocess test files share.
#pragma once

#include <braid/process/subprocess.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>

#include <chrono>
#include <set>
#include <string>

namespace braid::test::subprocess {

using Clock = std::chrono::steady_clock;

// Generous bound for anything that should take milliseconds (shared 2-core machines,
// sanitizers).
inline constexpr auto kBound = std::chrono::seconds(10);

// RunOptions with capture_output.
inline braid::subprocess::RunOptions capture() {
  braid::subprocess::RunOptions o;
  o.capture_output = true;
  return o;
}

// Descriptors open in this process (not counting the one used to list them).
inline std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') fds.insert(std::stoi(e->d_name));
  }
  fds.erase(::dirfd(d));
  ::closedir(d);
  return fds;
}

}  // namespace braid::test::subprocess
