// Reading what the example programs of examples/clients print (they are run as child
// processes with run_example.hpp and net_example_support.hpp from tests/seeds).
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <string>

namespace braid::test::clients {

/// The number in group 1 of the first match of `re` in `out` (the test fails without one).
inline double number(const std::string& out, const std::string& re) {
  std::smatch m;
  INFO("looking for /" << re << "/");
  REQUIRE(std::regex_search(out, m, std::regex(re)));
  return std::stod(m[1]);
}

/// Whether BRAID_EXAMPLES_DIR/<name> was built (a _hooked one needs braid_hooks).
inline bool example_built(const std::string& name) {
  return std::ifstream(std::string(BRAID_EXAMPLES_DIR) + "/" + name).good();
}

}  // namespace braid::test::clients
