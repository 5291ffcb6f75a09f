// A cancelled read (a per-call timeout, a kill) ends that read and nothing else. Asio
// 1.81's io_uring backend sends its cancel requests with whatever user data the
// submission slot last held, so their completions used to land on unrelated operations:
// a streaming reader saw ENOENT or a false EOF, a parked reader was never woken.
// runtime/src/asio_private.cpp zeroes those slots; this test fails without that
// (in the io_uring build) and pins the plain behaviour in every build.
#include <braid/net/unix_socket.hpp>

#include "net_test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using braid::net::UnixStream;

namespace {

/// Describes an exception for a failure message.
std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

TEST_CASE("cancelled reads never complete another socket's operations", "[net][cancel]") {
  constexpr int kStreams = 8;
  constexpr std::size_t kBytesPerStream = std::size_t{8} << 20;
  constexpr int kIdleReaders = 40;
  constexpr int kTimeoutsEach = 50;
  constexpr int kKills = 200;

  // Streams that must deliver exactly their bytes, then EOF.
  std::vector<UnixStream> ends;
  std::vector<std::size_t> received(kStreams, 0);
  std::vector<std::string> stream_error(kStreams);
  std::vector<braid::Task<void>> tasks;
  for (int i = 0; i < kStreams; ++i) {
    auto [a, b] = UnixStream::pair();
    ends.push_back(std::move(a));
    ends.push_back(std::move(b));
  }
  for (std::size_t i = 0; i < kStreams; ++i) {
    UnixStream& out = ends[2 * i];
    UnixStream& in = ends[2 * i + 1];
    tasks.push_back(braid::spawn([&out] {
      const std::string chunk(std::size_t{16} << 10, 'x');
      for (std::size_t sent = 0; sent < kBytesPerStream; sent += chunk.size()) out.sendall(chunk);
      out.shutdown_write();
    }));
    tasks.push_back(braid::spawn([&in, &received, &stream_error, i] {
      char buf[1024];
      try {
        for (;;) {
          const std::size_t n = in.recv(buf);
          if (n == 0) return;
          received[i] += n;
        }
      } catch (...) {
        stream_error[i] = what_of(std::current_exception());
      }
    }));
  }

  // Idle readers whose per-call timeouts fire over and over: each is a cancel.
  int timeouts = 0;
  std::vector<std::string> idle_error;
  for (int i = 0; i < kIdleReaders; ++i) {
    tasks.push_back(braid::spawn([&timeouts, &idle_error] {
      auto [idle, peer] = UnixStream::pair();
      idle.set_timeout(1ms);
      char buf[64];
      for (int k = 0; k < kTimeoutsEach; ++k) {
        try {
          const std::size_t n = idle.recv(buf);
          idle_error.push_back("recv on an idle socket returned " + std::to_string(n));
        } catch (const braid::TimeoutError&) {
          ++timeouts;
        } catch (...) {
          idle_error.push_back(what_of(std::current_exception()));
        }
      }
    }));
  }

  // Readers parked on an idle socket and killed: each kill is a cancel too.
  int killed_in_time = 0;
  tasks.push_back(braid::spawn([&killed_in_time] {
    auto ends = UnixStream::pair();  // a named pair: lambdas below capture one end
    UnixStream& idle = ends.first;
    for (int k = 0; k < kKills; ++k) {
      auto parked = braid::spawn([&idle] {
        char buf[64];
        idle.recv(buf);
      });
      braid::sleep(0ms);  // let it park in recv
      parked.kill(false);
      if (parked.join(2s)) ++killed_in_time;
    }
  }));

  bool all_ended = true;
  for (auto& t : tasks) all_ended = t.join(60s) && all_ended;
  REQUIRE(all_ended);
  for (int i = 0; i < kStreams; ++i) {
    CAPTURE(i);
    CHECK(stream_error[i].empty());
    CHECK(received[i] == kBytesPerStream);
  }
  INFO((idle_error.empty() ? std::string("no idle error") : idle_error.front()));
  CHECK(idle_error.empty());
  CHECK(timeouts == kIdleReaders * kTimeoutsEach);
  CHECK(killed_in_time == kKills);
}
