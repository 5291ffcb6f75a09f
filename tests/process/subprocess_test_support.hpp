// What the subprocess test files share.
#pragma once

#include <braid/process/subprocess.hpp>

#include <chrono>

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

}  // namespace braid::test::subprocess
