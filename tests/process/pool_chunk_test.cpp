// Pool::map's chunking and buffer reuse: the default chunk size, and maps whose chunks
// take the worker's kept arrays, fresh arrays, recycled request buffers and new ones in
// turn, each still giving every result in input order.
#include <braid/process/pool.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace mp = braid::process;

namespace {

int negate(int x) { return -x; }
double half(std::int64_t x) { return static_cast<double>(x) / 2; }
std::string tag(int x) { return "#" + std::to_string(x); }

}  // namespace

TEST_CASE("pool: chunksize 0 picks like Python, at most kMaxDefaultChunk items",
          "[process][pool]") {
  using mp::detail::default_chunksize;
  using mp::detail::kMaxDefaultChunk;
  CHECK(default_chunksize(0, 2) == 0);
  CHECK(default_chunksize(1, 2) == 1);
  CHECK(default_chunksize(100, 2) == 13);      // divmod(100, 8) = (12, 4): 12 + 1
  CHECK(default_chunksize(8000, 4) == 500);    // divmod(8000, 16) = (500, 0)
  CHECK(default_chunksize(65536, 2) == 8192);  // Python's choice, exactly the cap
  CHECK(default_chunksize(65537, 2) == kMaxDefaultChunk);
  CHECK(default_chunksize(1'000'000, 2) == kMaxDefaultChunk);
  CHECK(default_chunksize(1'000'000, 64) == 3907);  // below the cap: Python's
}

TEST_CASE("pool: a request writer drops what its buffer held", "[process][pool]") {
  std::vector<std::byte> used(100, std::byte{7});
  used.reserve(4096);
  mp::detail::RequestWriter w(5, nullptr, 0, std::move(used));
  const std::vector<std::byte> frame = w.finish();
  // Header, then id, trampoline and function word: nothing of the old contents.
  REQUIRE(frame.size() == mp::detail::kFrameHeaderSize + 3 * sizeof(std::uint64_t));
  CHECK(mp::detail::parse_frame_header(frame.data(), mp::detail::kDefaultMaxFrame) ==
        3 * sizeof(std::uint64_t));
  CHECK(frame.capacity() >= 4096);  // the storage was kept
}

TEST_CASE("pool: maps of growing and shrinking chunks reuse buffers and stay in order",
          "[process][pool]") {
  mp::Pool pool(2);
  std::vector<int> in(400'000);
  std::iota(in.begin(), in.end(), -200'000);
  std::vector<int> want(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) want[i] = -in[i];
  // 300,000 ints (1.2 MB) is above what a worker keeps, and its request frame above what
  // the pool recycles; 70,000 (280 KB) recycles nothing either; the small ones reuse
  // buffers the earlier maps gave back, some of them too small for the next chunk.
  for (std::size_t chunk : {300'000, 100, 70'000, 8, 0, 5'000, 1, 300'000, 0}) {
    INFO("chunksize " << chunk);
    if (chunk == 1) {
      const std::vector<int> few(in.begin(), in.begin() + 2'000);
      const std::vector<int> few_want(want.begin(), want.begin() + 2'000);
      CHECK(pool.map(negate, few, chunk) == few_want);
      continue;
    }
    CHECK(pool.map(negate, in, chunk) == want);
  }
  // Another plain type in each direction (8-byte items, a different result type).
  std::vector<std::int64_t> wide(50'000);
  std::iota(wide.begin(), wide.end(), std::int64_t{1} << 40);
  const std::vector<double> halves = pool.map(half, wide);
  REQUIRE(halves.size() == wide.size());
  for (std::size_t i = 0; i < wide.size(); i += 4'999) {
    CHECK(halves[i] == static_cast<double>(wide[i]) / 2);
  }
  // Results that are not plain numbers still get fresh, initialised arrays.
  const std::vector<std::string> tags =
      pool.map(tag, std::vector<int>(in.begin(), in.begin() + 20'000));
  REQUIRE(tags.size() == 20'000);
  CHECK(tags.front() == "#-200000");
  CHECK(tags.back() == "#-180001");
}
