// A throwaway redis-server (Debian package redis-server) for one test: a free loopback
// port, no persistence, its files in a temporary folder; stopped (SIGTERM) and removed
// when the object goes away, also when the test fails.
#pragma once

#include "server_fixture.hpp"

#include <csignal>
#include <memory>
#include <string>

namespace braid::test::clients {

class RedisServer {
 public:
  /// Starts it and waits (bounded) until it answers PING.
  /// @throws std::runtime_error  no redis-server binary, or it did not come up (with its log).
  RedisServer() : dir_("braid-redis") {
    const auto bin = find_program(
        {"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"});
    if (!bin) {
      throw std::runtime_error(
          "redis-server not found (/usr/bin/redis-server): install the Debian package "
          "redis-server (scripts/setup.sh does)");
    }
    const auto t0 = Clock::now();
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      child_ = std::make_unique<ServerChild>(
          std::vector<std::string>{*bin, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", dir_.path(),
                                   "--daemonize", "no", "--loglevel", "warning"},
          dir_.path() + "/redis.log", SIGTERM);
      try {
        wait_ready(*child_, "redis-server on port " + std::to_string(port_),
                   [this] { return answers_ping(); });
        break;
      } catch (const std::runtime_error&) {
        const bool port_taken = child_->log().find("Address already in use") != std::string::npos;
        child_.reset();
        if (!port_taken || attempt == 3) throw;  // else another process took the port
      }
    }
    startup_seconds_ = seconds_since(t0);
  }

  std::uint16_t port() const noexcept { return port_; }
  /// The temporary folder it runs in (removed by the destructor).
  const std::string& folder() const noexcept { return dir_.path(); }
  /// From the start to the first PONG.
  double startup_seconds() const noexcept { return startup_seconds_; }
  /// Stops the server now (the destructor would); returns its exit status.
  std::optional<int> stop() { return child_->stop(); }

 private:
  bool answers_ping() const {
    try {
      auto s = braid::net::TcpStream::connect("127.0.0.1", port_, std::chrono::seconds(1));
      s.set_timeout(std::chrono::seconds(1));
      s.sendall("PING\r\n");
      char buf[64];
      const std::size_t n = s.recv(buf);
      return std::string(buf, n).rfind("+PONG", 0) == 0;  // not -LOADING
    } catch (const std::exception&) {
      return false;  // not listening yet
    }
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ServerChild> child_;
  double startup_seconds_ = 0;
};

}  // namespace braid::test::clients
