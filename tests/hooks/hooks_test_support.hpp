// Helpers shared by the hooks tests: a braid echo server with a delay before each reply,
// and a coroutine that counts ticks (it stops counting when the loop is blocked).
#pragma once

#include <braid/coro.hpp>
#include <braid/net.hpp>

#include <test_support.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace braid::test {

using namespace std::chrono_literals;

/// A connected pair of blocking Unix stream sockets, closed at scope end.
struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0); }
  ~SocketPair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

/// Echoes each connection's bytes back, `delay` after they arrive, on braid's own
/// (non-hooked: non-blocking Asio) sockets.
class DelayedEchoServer {
 public:
  explicit DelayedEchoServer(Duration delay)
      : listener_(net::TcpListener::bind("127.0.0.1", 0)) {
    acceptor_ = spawn([this, delay] {
      for (;;) {
        auto conn = std::make_shared<net::TcpStream>(listener_.accept());
        spawn([conn, delay] {
          for (;;) {
            std::string data = conn->recv(4096);
            if (data.empty()) return;
            braid::sleep(delay);
            conn->sendall(data);
          }
        });
      }
    });
  }
  ~DelayedEchoServer() { acceptor_.kill(); }
  std::uint16_t port() const { return listener_.port(); }

 private:
  net::TcpListener listener_;
  Task<void> acceptor_;
};

/// Ticks every `period` until stopped; ticks() tells whether the loop kept running.
class Ticker {
 public:
  explicit Ticker(Duration period = 10ms)
      : task_(spawn([this, period] {
          for (;;) {
            braid::sleep(period);
            ++ticks_;
          }
        })) {}
  ~Ticker() { task_.kill(); }
  int ticks() const { return ticks_; }

 private:
  int ticks_ = 0;
  Task<void> task_;
};

}  // namespace braid::test
