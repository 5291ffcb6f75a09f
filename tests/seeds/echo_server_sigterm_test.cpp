// SIGTERM stops a busy examples/echo_server: with 500 connections streaming (each client
// loops sendall 16 KiB / read it back), the server stops within its 2 s grace plus the
// kill, every connection ends in EOF or a reset (none is left hanging), and it exits 0.
#include <braid/coro.hpp>
#include <braid/net.hpp>

#include "net_example_support.hpp"
#include "run_example.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr int kConnections = 500;  // 500 + 500 descriptors in two processes: fits select
constexpr std::size_t kChunk = 16 * 1024;
constexpr auto kGrace = 2s;  // echo_server's stop(2s)

enum class End { running, eof, reset, hang, failed };

struct Client {
  std::atomic<long> rounds{0};  // echoes read back in full
  std::atomic<End> end{End::running};
  std::string error;  // for End::failed (written before `end`)
};

// One streaming connection, until the server ends it. Every call has a bounded wait, so
// a connection the server leaves open shows up as End::hang instead of a stuck test.
void stream(Client& c, std::uint16_t port, const std::atomic<bool>& quit) {
  try {
    auto s = braid::net::TcpStream::connect("127.0.0.1", port, 10s);
    s.set_timeout(10s);
    const std::string out(kChunk, 'e');
    std::string back(kChunk, '\0');
    while (!quit.load(std::memory_order_relaxed)) {
      s.sendall(out);
      s.recv_exact(back);
      c.rounds.fetch_add(1, std::memory_order_relaxed);
    }
    c.error = "the test gave up on the server";
    c.end = End::failed;
  } catch (const braid::EOFError&) {
    c.end = End::eof;
  } catch (const braid::TimeoutError&) {
    c.end = End::hang;
  } catch (const std::system_error& e) {
    // A server that closes with unread data resets the connection: the client sees
    // ECONNRESET, or EPIPE when its next send comes after the reset.
    if (e.code() == std::errc::connection_reset || e.code() == std::errc::broken_pipe) {
      c.end = End::reset;
    } else {
      c.error = e.what();
      c.end = End::failed;
    }
  }
}

}  // namespace

TEST_CASE("S23 echo_server stops on SIGTERM under 500 streaming connections within grace + kill",
          "[seeds][net][slow]") {
  braid::test::ServerProcess server("echo_server", {"--port", "0"});
  const int port = server.wait_port();
  REQUIRE(port > 0);

  // The clients run on a thread of their own (with its own hub), so they keep the
  // server busy while this thread signals it and waits for its exit.
  std::vector<Client> clients(kConnections);
  std::atomic<bool> quit{false};  // set when the test fails early, to end the load
  std::thread load([&] {
    std::vector<braid::Task<void>> tasks;
    for (auto& c : clients) {
      tasks.push_back(
          braid::spawn([&c, &quit, port] { stream(c, static_cast<std::uint16_t>(port), quit); }));
    }
    braid::joinall(tasks, 60s);
  });
  struct JoinLoad {
    std::thread& t;
    std::atomic<bool>& quit;
    ~JoinLoad() {
      quit = true;
      if (t.joinable()) t.join();
    }
  } join_load{load, quit};

  // Traffic flows on every connection before the signal.
  auto all_streaming = [&] {
    for (auto& c : clients) {
      if (c.rounds.load() < 2 && c.end.load() == End::running) return false;
    }
    return true;
  };
  const auto ready_by = std::chrono::steady_clock::now() + 60s;
  while (!all_streaming() && std::chrono::steady_clock::now() < ready_by) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(all_streaming());
  for (auto& c : clients) REQUIRE(c.end.load() == End::running);
  std::this_thread::sleep_for(300ms);  // a steady state, not the connection burst
  auto total_rounds = [&] {
    long n = 0;
    for (auto& c : clients) n += c.rounds.load();
    return n;
  };
  const long before = total_rounds();

  const auto t0 = std::chrono::steady_clock::now();
  const int code = server.stop(SIGTERM, 20s);
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO("echo_server output:\n" << server.output());
  INFO("exited after " << std::chrono::duration<double>(took).count() << " s; " << before
                       << " round trips before the signal");
  CHECK(code == 0);
  CHECK(server.output().find("stopped") != std::string::npos);
  CHECK(took >= kGrace);           // the streams never end by themselves: the whole grace
  CHECK(took < kGrace + 1s + 2s);  // + the kill (1 s promised) + slack for a loaded CI

  load.join();
  const long after = total_rounds();
  INFO(after - before << " round trips during the grace");
  CHECK(after > before);  // it served while stopping: the signal came to a busy server
  int eof = 0, reset = 0, hang = 0, failed = 0;
  std::string first_error;
  for (auto& c : clients) {
    switch (c.end.load()) {
      case End::eof:
        ++eof;
        break;
      case End::reset:
        ++reset;
        break;
      case End::hang:
        ++hang;
        break;
      default:
        ++failed;
        if (first_error.empty()) first_error = c.error;
    }
  }
  INFO(eof << " EOF, " << reset << " reset, " << hang << " hanging, " << failed
           << " failed (first: " << first_error << ")");
  CHECK(eof + reset == kConnections);
}

TEST_CASE("S23 echo_server --idle-timeout frees a --max-connections slot held by an idle client",
          "[seeds][net]") {
  braid::test::ServerProcess server(
      "echo_server", {"--port", "0", "--max-connections", "1", "--idle-timeout", "0.2"});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  const auto p = static_cast<std::uint16_t>(port);
  auto idle = braid::net::TcpStream::connect("127.0.0.1", p, 5s);
  idle.set_timeout(5s);
  idle.sendall("hi");
  REQUIRE(idle.recv(8) == "hi");  // holds the only slot from here
  auto next = braid::net::TcpStream::connect("127.0.0.1", p, 5s);
  next.set_timeout(5s);
  next.sendall("next");
  CHECK(next.recv(8) == "next");  // served once the idle one was closed
  CHECK(idle.recv(8).empty());
  next.close();  // no open connection left: the stop needs no grace
  CHECK(server.stop(SIGTERM) == 0);
}

TEST_CASE("S23 echo_server refuses a non-positive --idle-timeout", "[seeds][net]") {
  auto r = braid::test::run_example("echo_server", "--idle-timeout 0", true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("usage:") != std::string::npos);
}
