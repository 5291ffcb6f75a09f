// A main() for shlex_fuzz.cpp where libFuzzer is unavailable (GCC builds, used by CI).
//
// With no arguments it feeds the target 200,000 deterministic pseudo-random inputs built
// from a shell-ish alphabet, so every run checks the same inputs and a failure
// reproduces. With file arguments it runs the target on each file instead, like a
// libFuzzer binary does, to replay a crash found by the real fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using namespace std::string_view_literals;

constexpr int kInputs = 200'000;
constexpr std::size_t kMaxLength = 64;

// Bytes with a meaning to the parser appear often; a few letters, NUL and bytes that
// are not valid UTF-8 fill the rest.
constexpr std::string_view kAlphabet =
    "  \t\n\r''\"\"\\\\##ab$`;|&*=-./\0\x80\xc3\xa9\xff"sv;  // sv: keeps the NUL

int run(std::string_view input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

int replay_files(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "standalone_driver: cannot read %s\n", argv[i]);
      return 1;
    }
    run(std::string(std::istreambuf_iterator<char>(in), {}));
  }
  std::printf("standalone_driver: ran %d file(s)\n", argc - 1);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) return replay_files(argc, argv);
  // std::mt19937's raw output is fixed by the standard, so the inputs are the same with
  // every compiler and standard library (unlike std::uniform_int_distribution's).
  std::mt19937 rng(12345);
  std::string input;
  for (int i = 0; i < kInputs; ++i) {
    input.clear();
    std::size_t length = rng() % (kMaxLength + 1);
    for (std::size_t j = 0; j < length; ++j) input += kAlphabet[rng() % kAlphabet.size()];
    run(input);
  }
  std::printf("standalone_driver: %d inputs, no failure\n", kInputs);
  return 0;
}
