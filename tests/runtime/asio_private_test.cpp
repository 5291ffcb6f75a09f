// Pins the one place braid reads Asio's private members (runtime/src/asio_private.cpp):
// which path this build took, and what each access buys. A Boost upgrade fails here
// first, by name: re-check every access in asio_private.cpp against the new Asio, then
// move the BOOST_VERSION gate in asio_private.hpp and the pin below together.
#include <braid/runtime.hpp>

#include <boost/asio/detail/config.hpp>
#include <boost/version.hpp>
#include <catch2/catch.hpp>

#include <vector>

namespace braid::detail {
bool asio_private_access() noexcept;  // runtime/src/asio_private.hpp (not installed)
}

TEST_CASE("asio private access: on the checked Asio release, and only there",
          "[runtime][asio_private]") {
  INFO("BOOST_VERSION " << BOOST_VERSION);
#if defined(BRAID_ASIO_PLAIN)
  REQUIRE_FALSE(braid::detail::asio_private_access());
#else
  // Boost 1.81 is the release asio_private.cpp was checked against.
  REQUIRE(braid::detail::asio_private_access() == (BOOST_VERSION == 108100));
#endif
}

TEST_CASE("asio private access: handlers queued together run in one turn",
          "[runtime][asio_private]") {
  braid::Hub& hub = braid::Hub::current();
  std::vector<int> seen;
  for (int i = 0; i < 5; ++i) hub.post([&seen, i] { seen.push_back(i); });
  // With the scheduler's queue readable the drain runs all five after one wait; the
  // plain-Asio fallback runs one per turn.
  const std::size_t first = hub.run_once();
  if (braid::detail::asio_private_access()) {
    REQUIRE(first == 5);
  } else {
    REQUIRE(first == 1);
  }
  hub.run();
  REQUIRE(seen == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("asio private access: the reactor's descriptor for host loops",
          "[runtime][asio_private][embed]") {
  const int fd = braid::Hub::current().native_handle();
#if defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  if (braid::detail::asio_private_access()) {
    REQUIRE(fd >= 0);
  } else {
    REQUIRE(fd == -1);
  }
#else
  REQUIRE(fd == -1);  // select: no single descriptor to poll
#endif
}
