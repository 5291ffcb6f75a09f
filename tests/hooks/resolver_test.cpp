// braid's own name resolution with the hooks linked in: Asio's resolver calls getaddrinfo
// on its own thread, where no hub runs, so the hooked getaddrinfo must pass the call
// straight to libc's (not park, not hand it to the thread pool, not recurse).
#include <braid/net/tcp_stream.hpp>
#include <braid/runtime/thread.hpp>

#include <catch2/catch.hpp>

#include "hooks_test_support.hpp"

#include <string>

using namespace std::chrono_literals;

TEST_CASE("braid::net resolves names through Asio's resolver with the hooks linked") {
  const std::size_t pool_before = braid::detail::thread_pool_size();
  auto t = braid::spawn([] {
    auto listener = braid::net::TcpListener::bind("localhost", 0);
    auto c = braid::net::TcpStream::connect("localhost", listener.port(), 5s);
    auto s = listener.accept();
    c.sendall("x");
    return s.recv(1);
  });
  CHECK(t.get() == "x");
  // The hook saw no hub on the resolver's thread: libc's call ran there, not on the pool.
  CHECK(braid::detail::thread_pool_size() == pool_before);
}
