// libFuzzer target for braid::shlex (DESIGN.md: "the shlex parser is fuzzed").
//
// Every input is split in all four (comments, posix) modes. A split may fail only with
// ShlexError; any other exception, a crash or a sanitizer report is a finding. Every
// successful result must survive join() and split() again unchanged, with comments off
// and on, since join() quotes '#'. A mismatch aborts so the fuzzer keeps the input.
#include <braid/process/shlex.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "shlex_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

void check_round_trip(const std::vector<std::string>& words) {
  const std::string line = braid::shlex::join(words);
  for (bool comments : {false, true}) {
    std::vector<std::string> again;
    try {
      again = braid::shlex::split(line, comments, true);
    } catch (const braid::shlex::ShlexError& e) {
      fail("split(join(words)) threw", e.what());
    }
    if (again != words) fail("split(join(words)) != words; join gave", line);
  }
}

void check_mode(std::string_view input, bool comments, bool posix) {
  std::vector<std::string> words;
  try {
    words = braid::shlex::split(input, comments, posix);
  } catch (const braid::shlex::ShlexError& e) {
    // Rejecting malformed input is fine; the message must say it came from split.
    if (std::string_view(e.what()).rfind("shlex::split: ", 0) != 0) fail("bad message", e.what());
    return;
  }
  check_round_trip(words);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (bool posix : {true, false}) {
    for (bool comments : {false, true}) check_mode(input, comments, posix);
  }
  // The input itself, as one word, must round-trip as well.
  check_round_trip({std::string(input)});
  return 0;
}
