# Fuzzing (DESIGN.md: "the IPC frame decoder and shlex parser are fuzzed"). Included from
# tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/. Three targets:
#
#   shlex       braid::shlex::split/join                      (shlex_fuzz.cpp)
#   frame       a peer's byte stream through FrameBuffer and  (frame_fuzz.cpp)
#               decode_value: the IPC frame decoder
#   pool_reply  a worker's reply stream as the Pool's parent  (pool_reply_fuzz.cpp)
#               decodes it
#
# Clang with libFuzzer: `<name>_fuzz` is a real coverage-guided fuzzer, and ctest runs it
# for 20 s, starting from the seed corpus in fuzz/corpus/<name>/ when there is one (new
# inputs go to the build tree, never into the sources), with a 64 MiB cap on any single
# allocation: a frame header must not be able to make the decoder allocate what it
# announces. GCC has no libFuzzer, so there `<name>_fuzz_driver` links the same target
# with standalone_driver.cpp: 200,000 fixed pseudo-random inputs for shlex; for the
# frame targets the seed corpus replayed, then 100,000 fixed mutations of it. CI builds
# with g++ and still exercises them. Either way the ctest is `fuzz.<name>`.
#
# fuzz/make_corpus.py wrote the seed corpora (valid frames and a few malformed ones).
#
# The code under test is compiled into the fuzz binary directly, not through the
# braid_process library, so it gets the fuzzer's instrumentation and sanitizers, and
# braid_build_flags is deliberately not linked (BRAID_SANITIZE=thread would clash). The
# frame and reply codecs (frame_codec.cpp, pool_reply_codec.cpp) need no hub for that.

include(CheckCXXSourceCompiles)

set(braid_fuzz_probe [[
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
]])

# braid_fuzz_binary(<binary> <sanitizer flags> <sources...>)
function(braid_fuzz_binary name flags)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/process/include
                                             ${PROJECT_SOURCE_DIR}/process/src
                                             ${PROJECT_SOURCE_DIR}/runtime/include)
  target_link_libraries(${name} PRIVATE cereal::cereal fmt::fmt Boost::headers)
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
if(NOT BRAID_HAVE_LIBFUZZER AND CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$")
  # Run the driver under ASan+UBSan when the toolchain can link them, plain otherwise.
  set(CMAKE_REQUIRED_FLAGS -fsanitize=address,undefined)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=address,undefined)
  check_cxx_source_compiles("int main() { return 0; }" BRAID_HAVE_ASAN_UBSAN)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
endif()

# braid_fuzz_suite(<name> <sources...>): the fuzz binary for one target and its ctest.
function(braid_fuzz_suite name)
  set(sources ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${name}_fuzz.cpp ${ARGN})
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name})
  if(BRAID_HAVE_LIBFUZZER)
    braid_fuzz_binary(${name}_fuzz -fsanitize=fuzzer,address,undefined ${sources})
    set(command ${name}_fuzz -max_total_time=20 -rss_limit_mb=2048)
    if(EXISTS ${corpus})
      set(found ${CMAKE_CURRENT_BINARY_DIR}/fuzz/${name}_found)
      file(MAKE_DIRECTORY ${found})
      list(APPEND command -malloc_limit_mb=64 ${found} ${corpus})
    endif()
  elseif(CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$")
    set(flags "")
    if(BRAID_HAVE_ASAN_UBSAN)
      set(flags -fsanitize=address,undefined)
    endif()
    braid_fuzz_binary(${name}_fuzz_driver "${flags}" ${sources}
                      ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/standalone_driver.cpp)
    set(command ${name}_fuzz_driver)
    if(EXISTS ${corpus})
      list(APPEND command --mutate 100000 ${corpus})
    endif()
  else()
    return()
  endif()
  add_test(NAME fuzz.${name} COMMAND ${command})
  set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 120 LABELS fuzz)
endfunction()

braid_fuzz_suite(shlex ${PROJECT_SOURCE_DIR}/process/src/subprocess/shlex.cpp)
braid_fuzz_suite(frame ${PROJECT_SOURCE_DIR}/process/src/ipc/frame_codec.cpp)
braid_fuzz_suite(pool_reply ${PROJECT_SOURCE_DIR}/process/src/ipc/frame_codec.cpp
                 ${PROJECT_SOURCE_DIR}/process/src/pool/pool_reply_codec.cpp)
