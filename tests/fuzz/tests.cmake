# Fuzzing the shlex parser (DESIGN.md: "the IPC frame decoder and shlex parser are
# fuzzed"). Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
#
# Clang with libFuzzer: `shlex_fuzz` is a real coverage-guided fuzzer, and ctest runs it
# for 20 s. GCC has no libFuzzer, so there `shlex_fuzz_driver` links the same target
# with a main() that feeds it 200,000 fixed pseudo-random inputs; CI builds with g++
# and still exercises it. Either way the ctest is `fuzz.shlex`.
#
# The parser's source is compiled into the fuzz binary directly, not through the
# braid_process library, so it gets the fuzzer's instrumentation and sanitizers, and
# braid_build_flags is deliberately not linked (BRAID_SANITIZE=thread would clash).

include(CheckCXXSourceCompiles)

set(braid_shlex_fuzz_sources
    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/shlex_fuzz.cpp
    ${PROJECT_SOURCE_DIR}/process/src/shlex.cpp)
set(braid_fuzz_probe [[
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
]])

# braid_fuzz_target(<name> <sanitizer flags> <sources...>)
function(braid_fuzz_target name flags)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/process/include)
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  if(flags)
    # Stop at the first UBSan report, so a finding fails the run instead of scrolling by.
    target_compile_options(${name} PRIVATE ${flags} -fno-omit-frame-pointer
                                           -fno-sanitize-recover=undefined)
    target_link_options(${name} PRIVATE ${flags})
  endif()
endfunction()

if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Probe first: a Clang without the compiler-rt fuzzer library would fail the build.
  set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer,address,undefined)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=fuzzer,address,undefined)
  check_cxx_source_compiles("${braid_fuzz_probe}" BRAID_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
endif()

if(BRAID_HAVE_LIBFUZZER)
  braid_fuzz_target(shlex_fuzz -fsanitize=fuzzer,address,undefined ${braid_shlex_fuzz_sources})
  add_test(NAME fuzz.shlex COMMAND shlex_fuzz -max_total_time=20 -rss_limit_mb=2048)
  set_tests_properties(fuzz.shlex PROPERTIES TIMEOUT 120 LABELS fuzz)
elseif(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" OR CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Run the driver under ASan+UBSan when the toolchain can link them, plain otherwise.
  set(CMAKE_REQUIRED_FLAGS -fsanitize=address,undefined)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=address,undefined)
  check_cxx_source_compiles("int main() { return 0; }" BRAID_HAVE_ASAN_UBSAN)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  set(braid_driver_flags "")
  if(BRAID_HAVE_ASAN_UBSAN)
    set(braid_driver_flags -fsanitize=address,undefined)
  endif()
  braid_fuzz_target(shlex_fuzz_driver "${braid_driver_flags}" ${braid_shlex_fuzz_sources}
                    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/standalone_driver.cpp)
  add_test(NAME fuzz.shlex COMMAND shlex_fuzz_driver)
  set_tests_properties(fuzz.shlex PROPERTIES TIMEOUT 120 LABELS fuzz)
endif()
