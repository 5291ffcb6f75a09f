// The test runner's main(). Each test case runs as its own ctest process (see
// tests/CMakeLists.txt), so a hang is a named failure at the watchdog timeout.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
