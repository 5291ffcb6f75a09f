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

#if defined(BOOST_ASIO_DISABLE_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING)
/// select() cannot watch a descriptor numbered FD_SETSIZE (1024) or above, and every client
/// here costs two descriptors (its end and the server's).
inline constexpr int kManyClients = 300;
inline constexpr bool kSelectReactor = true;
#else
inline constexpr int kManyClients = 1000;
inline constexpr bool kSelectReactor = false;
#endif

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
