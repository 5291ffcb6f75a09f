// Helpers shared by the net tests: connected pairs over loopback, descriptor limits.
#pragma once

#include <braid/net.hpp>

#include <sys/resource.h>

#include <chrono>
#include <utility>

namespace braid::test {

using namespace std::chrono_literals;

/// Generous upper bound for "this should happen promptly" on a loaded 2-core machine.
inline constexpr auto kSchedulingSlack = 2s;

/// A connected (client, server-side) TCP pair over 127.0.0.1.
inline std::pair<net::TcpStream, net::TcpStream> tcp_pair() {
  auto listener = net::TcpListener::bind("127.0.0.1", 0);
  auto client = net::TcpStream::connect("127.0.0.1", listener.port(), 5s);
  auto server = listener.accept();
  return {std::move(client), std::move(server)};
}

/// Raises the soft RLIMIT_NOFILE to at least `n` (up to the hard limit).
inline void raise_fd_limit(rlim_t n) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < n) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? n : std::min(n, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace braid::test
