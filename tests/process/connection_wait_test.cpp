#include <braid/process/connection.hpp>

#include <braid/coro.hpp>
#include <braid/process/process.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <cerrno>
#include <cstddef>
#include <system_error>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;
using braid::test::kGenerous;

TEST_CASE("close() wakes a coroutine parked in recv with EBADF", "[process][connection]") {
  auto [a, b] = mp::Pipe();
  auto reader = braid::spawn([&a = a] { return a.recv<int>(); });
  braid::yield_now();
  REQUIRE_FALSE(reader.ready());
  a.close();
  try {
    (void)reader.get();
    FAIL("recv returned after close");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBADF);
    CHECK_THAT(e.what(), Catch::Contains("closed while waiting"));
  }
}

TEST_CASE("close() wakes a coroutine parked in poll or in a send to a full pipe",
          "[process][connection]") {
  auto [a, b] = mp::Pipe();
  SECTION("poll") {
    auto poller = braid::spawn([&a = a] { return a.poll(kGenerous); });
    braid::yield_now();
    a.close();
    REQUIRE_THROWS_AS(poller.get(), std::system_error);
  }
  SECTION("send") {
    auto sender = braid::spawn([&a = a] {
      a.send_bytes(std::vector<std::byte>(8 << 20));  // far more than the socket holds
    });
    braid::yield_now();
    REQUIRE_FALSE(sender.ready());
    a.close();
    try {
      sender.get();
      FAIL("send returned after close");
    } catch (const std::system_error& e) {
      CHECK(e.code().value() == EBADF);
    }
  }
}

TEST_CASE("a Connection that waited before a fork works in the child and in the parent",
          "[process][connection][fork]") {
  auto [a, b] = mp::Pipe();
  auto round_trip = [&a = a, &b = b](int v) {
    auto writer = braid::spawn([&b = b, v] {
      braid::sleep(2ms);
      b.send(v);
    });
    REQUIRE(a.poll(kGenerous));  // parks in the hub: through a's registration
    CHECK(a.recv<int>() == v);
    writer.join();
  };
  round_trip(1);
  mp::Process child(
      [](mp::Connection& a) {
        const int v = a.recv<int>();  // parks on the child's own registration
        a.send(v + 1);
        a.close();
      },
      std::ref(a));
  child.start();
  b.send(10);
  CHECK(b.recv<int>() == 11);
  REQUIRE(child.join(kGenerous));
  CHECK(child.exitcode() == 0);
  round_trip(2);  // the child did not take a's registration out of the parent's epoll set
}
