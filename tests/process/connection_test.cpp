#include <braid/process/connection.hpp>

#include <braid/coro.hpp>
#include <braid/process/detail/frame.hpp>
#include <braid/process/process.hpp>
#include <braid/process/synchronize.hpp>
#include <braid/runtime/detail/fd_watcher.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace mp = braid::process;
namespace fr = braid::process::detail;
using namespace std::chrono_literals;
using braid::test::kGenerous;

namespace {

struct Point {
  int x = 0;
  double y = 0;
  std::string label;
  std::vector<int> tags;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, y, label, tags);
  }
  bool operator==(const Point&) const = default;
};

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

// Writes raw bytes into the sending end of a pipe, bypassing the frame layer.
void write_raw(int fd, const std::vector<std::byte>& b) {
  REQUIRE(::write(fd, b.data(), b.size()) == static_cast<ssize_t>(b.size()));
}

}  // namespace

TEST_CASE("frames: header layout and round trip", "[process][unit]") {
  const auto frame = fr::encode_frame(bytes_of("abc"));
  REQUIRE(frame.size() == fr::kFrameHeaderSize + 3);
  CHECK(frame[0] == std::byte{0xB5});
  CHECK(frame[1] == std::byte{0x1D});
  CHECK(frame[2] == std::byte{1});
  CHECK(frame[3] == std::byte{0});
  CHECK(frame[4] == std::byte{3});
  CHECK(fr::parse_frame_header(frame.data(), 100) == 3);
  const auto v = fr::encode_value_frame(std::string("hi"));
  const std::size_t n = fr::parse_frame_header(v.data(), 100);
  CHECK(fr::decode_value<std::string>(std::span(v).subspan(fr::kFrameHeaderSize, n)) == "hi");
}

TEST_CASE("read_frame/write_frame over a pipe, exact reads", "[process][unit]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  fr::write_frame(fds[1], fr::encode_value_frame(7));
  fr::write_frame(fds[1], fr::encode_frame(bytes_of("xyz")));
  CHECK(fr::decode_value<int>(fr::read_frame(fds[0])) == 7);
  CHECK(fr::read_frame(fds[0]) == bytes_of("xyz"));
  REQUIRE_THROWS_AS(fr::read_frame(fds[0], 20ms), braid::TimeoutError);
  ::close(fds[1]);
  REQUIRE_THROWS_AS(fr::read_frame(fds[0]), braid::EOFError);
  ::close(fds[0]);
}

TEST_CASE("typed send/recv of values and structs", "[process][unit]") {
  auto [a, b] = mp::Pipe();
  a.send(42);
  a.send(3.5);
  a.send(std::string("hello"));
  a.send(std::vector<int>{1, 2, 3});
  a.send(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  a.send(std::optional<int>{});
  a.send(std::make_tuple(1, std::string("two"), 3.0));
  a.send(std::variant<int, std::string>(std::string("v")));
  a.send(Point{1, 2.5, "p", {4, 5}});
  CHECK(b.recv<int>() == 42);
  CHECK(b.recv<double>() == 3.5);
  CHECK(b.recv<std::string>() == "hello");
  CHECK(b.recv<std::vector<int>>() == std::vector<int>{1, 2, 3});
  CHECK(b.recv<std::map<std::string, int>>().at("b") == 2);
  CHECK_FALSE(b.recv<std::optional<int>>().has_value());
  CHECK(std::get<1>(b.recv<std::tuple<int, std::string, double>>()) == "two");
  CHECK(std::get<std::string>(b.recv<std::variant<int, std::string>>()) == "v");
  CHECK(b.recv<Point>() == Point{1, 2.5, "p", {4, 5}});
  // duplex: the other way too
  b.send(std::string("back"));
  CHECK(a.recv<std::string>() == "back");
}

TEST_CASE("send_bytes/recv_bytes, empty frames, large frames", "[process][unit]") {
  auto [rx, tx] = mp::Pipe(false);
  REQUIRE(rx.readable());
  REQUIRE_FALSE(rx.writable());
  REQUIRE(tx.writable());
  tx.send_bytes(bytes_of("raw"));
  tx.send_bytes({});
  CHECK(rx.recv_bytes() == bytes_of("raw"));
  CHECK(rx.recv_bytes().empty());
  // 4 MiB: larger than the pipe buffer, so sender and receiver must take turns.
  std::string big(4 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>('a' + i % 26);
  auto sender = braid::spawn([&, &tx = tx] { tx.send(big); });
  CHECK(rx.recv<std::string>() == big);
  sender.get();
  REQUIRE_THROWS_AS(rx.send(1), std::logic_error);
  REQUIRE_THROWS_AS(tx.recv<int>(), std::logic_error);
}

TEST_CASE("recv after the other end is closed is EOFError", "[process][unit][fork]") {
  SECTION("in-process close") {
    auto [a, b] = mp::Pipe();
    a.send(1);
    a.close();
    CHECK(b.recv<int>() == 1);  // what was sent before the close still arrives
    REQUIRE_THROWS_AS(b.recv<int>(), braid::EOFError);
    REQUIRE(a.fileno() == -1);
    REQUIRE_THROWS_AS(a.send(1), std::logic_error);
  }
  SECTION("the child's end dies with the child") {
    auto [a, b] = mp::Pipe();
    mp::Process p([](mp::Connection& c) { c.send(std::string("bye")); }, std::ref(b));
    p.start();
    b.close();  // the parent's copy: now only the child holds that end
    CHECK(a.recv<std::string>() == "bye");
    REQUIRE_THROWS_AS(a.recv<std::string>(), braid::EOFError);
    REQUIRE(p.join(kGenerous));
  }
  CHECK(braid::test::no_children_left());
}

TEST_CASE("send to a closed reader is EPIPE, not a signal", "[process][unit]") {
  auto [rx, tx] = mp::Pipe(false);
  rx.close();
  try {
    tx.send(std::string("nobody listens"));
    FAIL("send succeeded");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EPIPE);
  }
}

TEST_CASE("malformed frames fed by hand are FrameError", "[process][unit]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  mp::Connection rx(fds[0], true, false);
  // Closed by the sections that need EOF (then -1): closing it twice would close
  // whatever took its number meanwhile, e.g. the reactor's duplicate of rx's descriptor.
  int wfd = fds[1];
  SECTION("bad magic") {
    write_raw(wfd, bytes_of("GET / HTTP/1.0\r\n"));
    REQUIRE_THROWS_WITH(rx.recv_bytes(), Catch::Contains("bad magic"));
  }
  SECTION("unknown version") {
    auto f = fr::encode_frame(bytes_of("x"));
    f[2] = std::byte{9};
    write_raw(wfd, f);
    REQUIRE_THROWS_WITH(rx.recv_bytes(), Catch::Contains("version"));
  }
  SECTION("truncated header") {
    auto f = fr::encode_frame(bytes_of("x"));
    f.resize(5);
    write_raw(wfd, f);
    ::close(std::exchange(wfd, -1));
    REQUIRE_THROWS_WITH(rx.recv_bytes(), Catch::Contains("truncated"));
  }
  SECTION("truncated payload") {
    auto f = fr::encode_frame(bytes_of("0123456789"));
    f.resize(f.size() - 4);
    write_raw(wfd, f);
    ::close(std::exchange(wfd, -1));
    REQUIRE_THROWS_AS(rx.recv_bytes(), mp::FrameError);
  }
  SECTION("payload is not the requested type") {
    write_raw(wfd, fr::encode_value_frame(std::string("not an int vector, not at all")));
    REQUIRE_THROWS_WITH(rx.recv<std::vector<std::uint64_t>>(), Catch::Contains("malformed"));
  }
  SECTION("bytes left over") {
    write_raw(wfd, fr::encode_value_frame(std::string("abc")));
    REQUIRE_THROWS_WITH(rx.recv<std::uint8_t>(), Catch::Contains("left over"));
  }
  SECTION("absurd string length") {
    std::vector<std::byte> payload(8, std::byte{0xff});  // size field 2^64-1, no data
    write_raw(wfd, fr::encode_frame(payload));
    REQUIRE_THROWS_AS(rx.recv<std::string>(), mp::FrameError);
  }
  if (wfd >= 0) ::close(wfd);
}

TEST_CASE("oversized frames are refused by sender and receiver", "[process][unit]") {
  auto [a, b] = mp::Pipe();
  a.set_max_frame(16);
  REQUIRE_THROWS_AS(a.send(std::string(100, 'x')), mp::FrameError);
  b.set_max_frame(16);
  // A header announcing 1 GiB + 1 against a 16-byte limit: rejected before any read.
  std::byte header[fr::kFrameHeaderSize];
  fr::put_frame_header(header, (std::size_t{1} << 30) + 1);
  REQUIRE(::write(a.fileno(), header, sizeof header) == sizeof header);
  REQUIRE_THROWS_WITH(b.recv_bytes(), Catch::Contains("oversized"));
  // And the default limit is 1 GiB.
  CHECK_THROWS_AS(fr::parse_frame_header(header, fr::kDefaultMaxFrame), mp::FrameError);
}

TEST_CASE("poll: zero, bounded and unbounded timeouts", "[process][unit]") {
  auto [a, b] = mp::Pipe();
  CHECK_FALSE(b.poll());
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(b.poll(50ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  auto later = braid::spawn([&, &a = a] {
    braid::sleep(20ms);
    a.send(5);
  });
  CHECK(b.poll(std::nullopt));
  CHECK(b.poll(0s));
  CHECK(b.recv<int>() == 5);
  later.get();
  a.close();
  CHECK(b.poll());  // EOF counts as "something to receive"
}

TEST_CASE("recv parks only the calling coroutine", "[process][unit][fork]") {
  auto [a, b] = mp::Pipe();
  mp::Event go;
  mp::Process p(
      [](mp::Connection& c, mp::Event go) {
        go.wait();
        c.send(99);
      },
      std::ref(b), go);
  p.start();
  auto waiter = braid::spawn([&, &a = a] { return a.recv<int>(); });
  CHECK(braid::test::others_run_while_parked(waiter));
  go.set();
  REQUIRE(waiter.get() == 99);
  REQUIRE(p.join(kGenerous));
}

TEST_CASE("a recv interrupted by a Timeout keeps the partial frame", "[process][unit]") {
  auto [a, b] = mp::Pipe();
  const auto frame = fr::encode_value_frame(std::string("split in two"));
  REQUIRE(::write(a.fileno(), frame.data(), 5) == 5);
  REQUIRE_THROWS_AS(braid::with_timeout(30ms, [&, &b = b] { return b.recv<std::string>(); }),
                    braid::TimeoutError);
  REQUIRE(::write(a.fileno(), frame.data() + 5, frame.size() - 5) ==
          static_cast<ssize_t>(frame.size() - 5));
  CHECK(b.recv<std::string>() == "split in two");
}

TEST_CASE("Pipe leaks no descriptors", "[process][unit]") {
  const std::size_t before = braid::test::open_fd_count();
  {
    auto [a, b] = mp::Pipe();
    auto [c, d] = mp::Pipe(false);
    a.send(1);
    CHECK(b.recv<int>() == 1);
    mp::Connection moved = std::move(c);
    CHECK(c.closed());
    CHECK_FALSE(moved.closed());
  }
  CHECK(braid::test::open_fd_count() == before);
}

TEST_CASE("random bytes never crash the frame decoder", "[process][unit]") {
  // A fixed-seed fuzz pass (the libFuzzer target belongs in tests/fuzz): random headers
  // and payloads go through the header parser, FrameReader and typed decoding; the only
  // outcomes allowed are a value, FrameError or EOFError.
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 64);
  int decoded = 0, rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::byte> blob(static_cast<std::size_t>(len(rng)));
    for (auto& b : blob) b = static_cast<std::byte>(byte(rng));
    if (round % 2 == 0 && blob.size() >= fr::kFrameHeaderSize) {
      // Half the time, a valid header announcing the rest: exercises the payload decoders.
      fr::put_frame_header(blob.data(), blob.size() - fr::kFrameHeaderSize);
    }
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    if (!blob.empty()) REQUIRE(::write(fds[1], blob.data(), blob.size()) > 0);
    ::close(fds[1]);
    fr::FrameReader reader(1024);
    braid::detail::FdWatcher watcher(fds[0]);
    try {
      const auto payload = reader.read(watcher, fds[0], std::nullopt, "fuzz");
      try {
        switch (round % 4) {
          case 0:
            (void)fr::decode_value<std::string>(payload);
            break;
          case 1:
            (void)fr::decode_value<std::vector<std::string>>(payload);
            break;
          case 2:
            (void)fr::decode_value<std::map<int, std::optional<double>>>(payload);
            break;
          default:
            (void)fr::decode_value<std::tuple<int, std::string, std::vector<int>>>(payload);
        }
        ++decoded;
      } catch (const mp::FrameError&) {
        ++rejected;
      }
    } catch (const mp::FrameError&) {
      ++rejected;
    } catch (const braid::EOFError&) {
      ++rejected;
    }
    ::close(fds[0]);
  }
  CHECK(decoded + rejected == 3000);
  CHECK(rejected > 0);
}
