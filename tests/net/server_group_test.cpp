#include <braid/net/server_group.hpp>

#include <braid/coro.hpp>
#include <braid/net.hpp>
#include <braid/process/connection.hpp>

#include <catch2/catch.hpp>

#include "net_test_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace net = braid::net;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBound = 20s;  // generous: forks and ASan on a loaded 2-core machine

std::size_t open_fd_count() {
  (void)braid::Hub::current();
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n - 3;
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

std::string read_line(net::TcpStream& s) {
  std::string line;
  char c = 0;
  while (s.recv({&c, 1}) == 1) {
    if (c == '\n') return line;
    line += c;
  }
  throw braid::EOFError("connection closed before a full line");
}

// Each connection learns which worker serves it, then gets its lines echoed.
void pid_then_echo(net::TcpStream& s) {
  s.sendall(std::to_string(::getpid()) + "\n");
  char buf[512];
  while (std::size_t n = s.recv(buf)) s.sendall({buf, n});
}

pid_t served_by(net::TcpStream& s) { return static_cast<pid_t>(std::stol(read_line(s))); }

// Opens connections (20 held at a time, so both workers' accept loops get some) until
// every pid in `want` has served one, or the bound passes. The pids seen.
std::set<pid_t> pids_serving(std::uint16_t port, const std::set<pid_t>& want) {
  std::set<pid_t> seen;
  const auto until = Clock::now() + kBound;
  while (Clock::now() < until) {
    std::vector<net::TcpStream> held;
    for (int i = 0; i < 20; ++i) held.push_back(net::TcpStream::connect("127.0.0.1", port, 5s));
    for (auto& s : held) seen.insert(served_by(s));
    bool all = true;
    for (pid_t p : want) all = all && seen.contains(p);
    if (all) break;
  }
  return seen;
}

net::ServerGroupOptions two_workers(bool reuse_port) {
  net::ServerGroupOptions o;
  o.workers = 2;
  o.reuse_port = reuse_port;
  o.restart_backoff = 10ms;
  return o;
}

}  // namespace

TEST_CASE("ServerGroup: every worker serves, shared socket or SO_REUSEPORT",
          "[net][server_group][fork]") {
  const bool reuse_port = GENERATE(false, true);
  CAPTURE(reuse_port);
  const std::size_t fds = open_fd_count();
  std::vector<pid_t> pids;
  {
    net::ServerGroup group("127.0.0.1", 0, pid_then_echo, two_workers(reuse_port));
    CHECK(group.port() == 0);
    group.start();
    REQUIRE(group.port() != 0);
    pids = group.worker_pids();
    REQUIRE(pids.size() == 2);
    const std::set<pid_t> want(pids.begin(), pids.end());
    REQUIRE(want.size() == 2);
    CHECK_FALSE(want.contains(::getpid()));  // the parent never serves
    CHECK(pids_serving(group.port(), want) == want);
    auto s = net::TcpStream::connect("127.0.0.1", group.port(), 5s);
    (void)served_by(s);
    s.sendall("ping\n");
    CHECK(read_line(s) == "ping");
    s.close();
    group.stop(5s);
    CHECK_THROWS_AS(net::TcpStream::connect("127.0.0.1", group.port(), 5s), std::system_error);
  }
  for (pid_t p : pids) CHECK(process_gone(p));
  CHECK(open_fd_count() == fds);
}

TEST_CASE(
    "ServerGroup: kill -9 of a worker under load: the other's clients see no error, "
    "a replacement serves",
    "[net][server_group][fork]") {
  net::ServerGroup group("127.0.0.1", 0, pid_then_echo, two_workers(false));
  group.start();
  const auto pids = group.worker_pids();
  const pid_t victim = pids[0];
  const pid_t survivor = pids[1];
  // Persistent connections to the survivor, kept busy by one coroutine each.
  std::vector<net::TcpStream> to_survivor;
  const auto until = Clock::now() + kBound;
  while (to_survivor.size() < 4 && Clock::now() < until) {
    auto s = net::TcpStream::connect("127.0.0.1", group.port(), 5s);
    if (served_by(s) == survivor) to_survivor.push_back(std::move(s));
  }
  REQUIRE(to_survivor.size() == 4);
  int errors = 0;
  long round_trips = 0;
  bool killed = false;
  long after_kill = 0;
  std::vector<braid::Task<void>> clients;
  for (auto& s : to_survivor) {
    clients.push_back(braid::spawn([&, sp = &s] {
      try {
        for (int i = 0; i < 400; ++i) {
          sp->sendall("x\n");
          if (read_line(*sp) != "x") ++errors;
          ++round_trips;
          if (killed) ++after_kill;
        }
      } catch (const std::exception&) {
        ++errors;
      }
    }));
  }
  braid::sleep(20ms);  // the clients are mid-traffic
  REQUIRE(::kill(victim, SIGKILL) == 0);
  killed = true;
  for (auto& c : clients) REQUIRE(c.join(kBound));
  CHECK(errors == 0);
  CHECK(round_trips == 1600);
  // A replacement takes slot 0 and serves.
  pid_t replacement = 0;
  const auto until2 = Clock::now() + kBound;
  while (Clock::now() < until2) {
    replacement = group.worker_pids()[0];
    if (replacement != 0 && replacement != victim) break;
    braid::sleep(5ms);
  }
  REQUIRE(replacement != 0);
  REQUIRE(replacement != victim);
  CHECK(group.workers().restarts() == 1);
  CHECK(pids_serving(group.port(), {replacement}).contains(replacement));
  group.stop(5s);
  CHECK(process_gone(victim));
  CHECK(process_gone(replacement));
}

TEST_CASE("ServerGroup: stop lets running handlers finish within the grace",
          "[net][server_group][fork]") {
  net::ServerGroupOptions o;
  o.workers = 2;
  net::ServerGroup group(
      "127.0.0.1", 0,
      [](net::TcpStream& s) {
        (void)read_line(s);
        braid::sleep(300ms);  // a request in progress when the stop comes
        s.sendall("done\n");
      },
      o);
  group.start();
  auto s = net::TcpStream::connect("127.0.0.1", group.port(), 5s);
  s.sendall("work\n");
  braid::sleep(50ms);  // the handler has the request
  const auto t0 = Clock::now();
  auto stopper = braid::spawn([&group] { group.stop(10s); });
  CHECK(read_line(s) == "done");
  REQUIRE(stopper.join(kBound));
  CHECK(Clock::now() - t0 < 8s);  // well inside the grace: the workers left when done
  for (pid_t p : group.worker_pids()) CHECK(p == 0);
}

TEST_CASE("ServerGroup: a reload refuses no connection and replaces every worker",
          "[net][server_group][fork]") {
  const bool reuse_port = GENERATE(false, true);
  CAPTURE(reuse_port);
  net::ServerGroupOptions o = two_workers(reuse_port);
  o.stop_grace = 2s;
  // A slow start keeps the reload going long enough for many connections to hit it.
  o.on_worker_start = [](unsigned) { braid::sleep(150ms); };
  net::ServerGroup group("127.0.0.1", 0, pid_then_echo, o);
  group.start();
  const auto before = group.worker_pids();
  int failures = 0;
  int served = 0;
  bool reloading = true;
  std::string first_error;
  auto client = braid::spawn([&] {
    while (reloading) {
      try {
        auto s = net::TcpStream::connect("127.0.0.1", group.port(), 5s);
        (void)served_by(s);
        ++served;
      } catch (const std::exception& e) {
        if (failures++ == 0) first_error = e.what();
      }
    }
  });
  const bool ok = group.reload();
  reloading = false;
  REQUIRE(client.join(kBound));
  CHECK(ok);
  CHECK(served > 20);
  INFO(first_error);
  if (reuse_port) {
    // Connections queued on a stopping worker's own socket may be reset (the kernel does
    // not move them unless net.ipv4.tcp_migrate_req = 1): documented, not asserted.
    WARN("reuse_port reload: " << failures << " of " << served + failures << " refused or reset");
  } else {
    CHECK(failures == 0);
  }
  const auto after = group.worker_pids();
  for (pid_t p : after) {
    CHECK(p != 0);
    CHECK(p != before[0]);
    CHECK(p != before[1]);
  }
  group.stop(5s);
}

TEST_CASE("ServerGroup: a crash-looping handler stops the group at the restart cap",
          "[net][server_group][fork]") {
  net::ServerGroupOptions o;
  o.workers = 1;
  o.restart_backoff = 1ms;
  o.max_restart_backoff = 5ms;
  o.max_restarts_per_minute = 2;
  net::ServerGroup group(
      "127.0.0.1", 0, [](net::TcpStream&) { std::_Exit(3); }, o);
  group.start();
  auto server = braid::spawn([&group] { return group.serve_forever(); });
  const auto until = Clock::now() + kBound;
  while (group.workers().running() && Clock::now() < until) {
    try {
      auto s = net::TcpStream::connect("127.0.0.1", group.port(), 1s);
      s.set_timeout(2s);
      char c = 0;
      (void)s.recv({&c, 1});
    } catch (const std::exception&) {
      braid::sleep(5ms);  // refused while the worker restarts
    }
  }
  REQUIRE(server.join(kBound));
  CHECK(server.get() == 1);
  REQUIRE(group.workers().failure());
  CHECK_THAT(*group.workers().failure(),
             Catch::Contains("max_restarts_per_minute = 2") && Catch::Contains("exit status 3"));
}

TEST_CASE("ServerGroup: per-worker hooks run in each worker; a failing one fails start()",
          "[net][server_group][fork]") {
  auto pipe = braid::process::Pipe(false);
  auto& rx = pipe.first;
  auto& tx = pipe.second;
  net::ServerGroupOptions o;
  o.workers = 2;
  o.on_worker_start = [&tx](unsigned i) { tx.send("start " + std::to_string(i)); };
  o.on_worker_exit = [&tx](unsigned i) { tx.send("exit " + std::to_string(i)); };
  {
    net::ServerGroup group("127.0.0.1", 0, pid_then_echo, o);
    group.start();
    std::set<std::string> got{rx.recv<std::string>(), rx.recv<std::string>()};
    CHECK(got == std::set<std::string>{"start 0", "start 1"});
    group.stop(5s);
    got = {rx.recv<std::string>(), rx.recv<std::string>()};
    CHECK(got == std::set<std::string>{"exit 0", "exit 1"});
  }
  o.on_worker_start = [](unsigned i) {
    if (i == 1) throw std::runtime_error("no database for worker 1");
  };
  o.on_worker_exit = nullptr;
  net::ServerGroup failing("127.0.0.1", 0, pid_then_echo, o);
  CHECK_THROWS_WITH(failing.start(),
                    Catch::Contains("worker 1") && Catch::Contains("before it was ready"));
}

TEST_CASE("ServerGroup: bind errors and misuse are reported", "[net][server_group]") {
  auto taken = net::TcpListener::bind("127.0.0.1", 0);
  net::ServerGroup clash("127.0.0.1", taken.port(), pid_then_echo, two_workers(false));
  CHECK_THROWS_WITH(clash.start(), Catch::Contains("bind 127.0.0.1:") &&
                                       Catch::Contains("Address already in use"));
  CHECK_THROWS_AS(net::ServerGroup("127.0.0.1", 0, nullptr), std::invalid_argument);
  net::ServerGroup idle("127.0.0.1", 0, pid_then_echo);
  CHECK_THROWS_AS(idle.workers(), std::logic_error);
  CHECK(idle.worker_pids().empty());
  CHECK_FALSE(idle.reload());
  idle.stop();  // not started: nothing to do
}

TEST_CASE("TcpListener: release() and adopt() hand a listening socket over",
          "[net][server_group]") {
  auto l = net::TcpListener::bind("127.0.0.1", 0);
  const std::uint16_t port = l.port();
  const int fd = l.release();
  REQUIRE(fd >= 0);
  CHECK_FALSE(l.is_open());
  CHECK(l.release() == -1);
  auto adopted = net::TcpListener::adopt(fd);
  CHECK(adopted.port() == port);
  auto client = net::TcpStream::connect("127.0.0.1", port, 5s);
  auto server = adopted.accept();
  client.sendall("hi");
  char buf[2];
  server.recv_exact(buf);
  CHECK(std::string(buf, 2) == "hi");
}

TEST_CASE("TcpListener::adopt rejects what is not a listening TCP socket", "[net][server_group]") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  ::close(p[1]);
  CHECK_THROWS_WITH(net::TcpListener::adopt(p[0]), Catch::Contains("not a socket"));
  CHECK(::fcntl(p[0], F_GETFD) == -1);  // closed: adopt owns what it is given
  const int unbound = ::socket(AF_INET, SOCK_STREAM, 0);
  CHECK_THROWS_WITH(net::TcpListener::adopt(unbound), Catch::Contains("not listening"));
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  CHECK_THROWS_WITH(net::TcpListener::adopt(udp), Catch::Contains("not a stream socket"));
  int unix_pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, unix_pair) == 0);
  ::close(unix_pair[1]);
  CHECK_THROWS_WITH(net::TcpListener::adopt(unix_pair[0]), Catch::Contains("not listening"));
  CHECK_THROWS_AS(net::TcpListener::adopt(1 << 20), std::system_error);
}
