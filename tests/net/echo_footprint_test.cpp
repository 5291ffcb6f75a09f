// What one echo connection costs: the peer's name formats without libc's printf, and a
// recv/sendall loop with the seed's 1 KiB buffer stays within the first page of its
// coroutine's stack (DESIGN.md: at most 8 KiB per connection at 1,000 connections).
#include <braid/coro/task.hpp>
#include <braid/net/tcp_stream.hpp>

#include "net_test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

using braid::net::Address;
using braid::net::TcpListener;
using braid::net::TcpStream;

TEST_CASE("Address::to_string formats IPv4, IPv6 and Unix addresses", "[net][unit]") {
  CHECK(Address{"127.0.0.1", 8080}.to_string() == "127.0.0.1:8080");
  CHECK(Address{"255.255.255.255", 65535}.to_string() == "255.255.255.255:65535");
  CHECK(Address{"0.0.0.0", 1}.to_string() == "0.0.0.0:1");
  CHECK(Address{"::1", 9}.to_string() == "[::1]:9");
  CHECK(Address{"/tmp/s.sock", 0}.to_string() == "/tmp/s.sock");
  CHECK(Address{"@abstract", 0}.to_string() == "@abstract");
  CHECK(Address{"", 0}.to_string().empty());
}

TEST_CASE("peer and local addresses of IPv4 sockets read back as dotted quads", "[net][unit]") {
  auto [client, server] = braid::test::tcp_pair();
  const Address peer = server.peer_address();
  CHECK(peer.host == "127.0.0.1");
  CHECK(peer.port == client.local_address().port);
  CHECK(peer.to_string() == "127.0.0.1:" + std::to_string(peer.port));
  auto l = TcpListener::bind("127.0.0.2", 0);
  CHECK(l.local_address().host == "127.0.0.2");
}

namespace {

// Resident pages of the stack region from `low` up to (excluding) `high`.
[[maybe_unused]] std::size_t resident_pages(std::uintptr_t low, std::uintptr_t high) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  low = low / page * page;
  high = (high + page - 1) / page * page;
  std::vector<unsigned char> vec((high - low) / page);
  if (::mincore(reinterpret_cast<void*>(low), high - low, vec.data()) != 0) return SIZE_MAX;
  std::size_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

}  // namespace

TEST_CASE("an echo coroutine touches one page of its stack", "[net][footprint]") {
#if defined(BRAID_ASAN) || defined(BRAID_TSAN) || !defined(__OPTIMIZE__)
  WARN("not run: frame sizes only mean something in an optimised build without sanitizers");
#else
  auto [client, server] = braid::test::tcp_pair();
  // A stack size no other test uses: the slot comes from a fresh slab, untouched so far.
  constexpr std::size_t kStack = 200 * 1024;
  std::uintptr_t probe_at = 0;
  std::size_t echoed = 0;
  std::string peer;
  auto task = braid::spawn(braid::SpawnOptions{"echo", kStack}, [&, &conn = server] {
    char probe = 0;
    probe_at = reinterpret_cast<std::uintptr_t>(&probe);
    peer = conn.peer_address().to_string();
    char buf[1024];  // the seed's conn.recv(1024)
    while (std::size_t n = conn.recv(buf)) {
      conn.sendall({buf, n});
      echoed += n;
    }
  });
  const std::string msg(64, 'x');
  for (int i = 0; i < 100; ++i) {
    client.sendall(msg);
    char back[64];
    client.recv_exact(back);
  }
  client.close();
  task.join();
  REQUIRE(echoed == 6400);
  CHECK(peer.rfind("127.0.0.1:", 0) == 0);
  // The coroutine's frames start within a page of the stack's top (the fiber's record
  // sits there); everything it touched lies below, inside its own slot.
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t top = (probe_at / page + 1) * page;
  CHECK(resident_pages(top - kStack / 2, top) == 1);
#endif
}
