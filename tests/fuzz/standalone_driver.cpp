// A main() for the fuzz targets where libFuzzer is unavailable (GCC builds, used by CI).
//
//   driver                   200,000 deterministic pseudo-random inputs built from a
//                            shell-ish alphabet (what the shlex target wants).
//   driver --mutate N DIR... every file in the DIRs (the committed seed corpus), then N
//                            inputs made by mutating those seeds: byte flips, splices,
//                            and 32-bit values that matter to a length field (the frame
//                            targets: random bytes alone almost never pass the magic).
//   driver FILE|DIR...       every file given, like a libFuzzer binary does, to replay
//                            a crash found by the real fuzzer.
//
// The inputs are the same in every run, so a failure reproduces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;

constexpr int kInputs = 200'000;
constexpr std::size_t kMaxLength = 64;
constexpr std::size_t kMaxMutantLength = 8192;

// Bytes with a meaning to the parser appear often; a few letters, NUL and bytes that
// are not valid UTF-8 fill the rest.
constexpr std::string_view kAlphabet =
    "  \t\n\r''\"\"\\\\##ab$`;|&*=-./\0\x80\xc3\xa9\xff"sv;  // sv: keeps the NUL

int run(std::string_view input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

// The files named, a directory standing for its files in name order.
std::vector<std::string> read_inputs(int first, int argc, char** argv) {
  std::vector<fs::path> paths;
  for (int i = first; i < argc; ++i) {
    const fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file()) in_dir.push_back(e.path());
      }
      std::sort(in_dir.begin(), in_dir.end());
      paths.insert(paths.end(), in_dir.begin(), in_dir.end());
    } else {
      paths.push_back(p);
    }
  }
  std::vector<std::string> inputs;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "standalone_driver: cannot read %s\n", p.c_str());
      std::exit(1);
    }
    inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return inputs;
}

// One to four random edits of a seed, sometimes spliced with another seed.
std::string mutate(const std::vector<std::string>& seeds, std::mt19937& rng) {
  std::string s = seeds[rng() % seeds.size()];
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 8) {
      case 0:  // flip a bit
        if (!s.empty()) s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8)));
        break;
      case 1:  // a random byte
        if (!s.empty()) s[at] = static_cast<char>(rng());
        break;
      case 2:  // a value that matters to a size field, little-endian
      {
        static constexpr std::uint32_t kValues[] = {
            0,    1, 2, 7, 8, 255, 0x7fffffff, 0x80000000, 0xffffffff, 1u << 30, (1u << 30) + 1,
            65536};
        const std::uint32_t v = kValues[rng() % std::size(kValues)];
        for (int i = 0; i < 4 && at + i < s.size(); ++i)
          s[at + i] = static_cast<char>(v >> (8 * i));
        break;
      }
      case 3:  // insert random bytes
        s.insert(at, 1 + rng() % 8, static_cast<char>(rng()));
        break;
      case 4:  // erase a run
        if (!s.empty()) s.erase(at, 1 + rng() % 16);
        break;
      case 5:  // repeat a run (a frame sent twice, a field doubled)
        if (!s.empty()) s.insert(at, s.substr(at, 1 + rng() % 32));
        break;
      case 6:  // splice: this seed's head, another's tail
      {
        const std::string& other = seeds[rng() % seeds.size()];
        const std::size_t from = other.empty() ? 0 : rng() % other.size();
        s = s.substr(0, at) + other.substr(from);
        break;
      }
      default:  // cut the end off (a stream that stops inside a frame)
        s.resize(at);
        break;
    }
  }
  if (s.size() > kMaxMutantLength) s.resize(kMaxMutantLength);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // std::mt19937's raw output is fixed by the standard, so the inputs are the same with
  // every compiler and standard library (unlike std::uniform_int_distribution's).
  std::mt19937 rng(12345);
  if (argc > 2 && argv[1] == "--mutate"sv) {
    const long n = std::strtol(argv[2], nullptr, 10);
    const std::vector<std::string> seeds = read_inputs(3, argc, argv);
    if (seeds.empty() || n < 0) {
      std::fprintf(stderr, "standalone_driver: --mutate N needs N >= 0 and seed files\n");
      return 1;
    }
    for (const auto& s : seeds) run(s);
    for (long i = 0; i < n; ++i) run(mutate(seeds, rng));
    std::printf("standalone_driver: %zu seeds and %ld mutants, no failure\n", seeds.size(), n);
    return 0;
  }
  if (argc > 1) {
    const std::vector<std::string> inputs = read_inputs(1, argc, argv);
    for (const auto& s : inputs) run(s);
    std::printf("standalone_driver: ran %zu file(s)\n", inputs.size());
    return 0;
  }
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
