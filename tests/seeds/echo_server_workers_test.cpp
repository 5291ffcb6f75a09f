// examples/echo_server --workers 2: an outside client (a Python program) is served by both
// worker processes, and SIGTERM to the parent stops every worker gracefully (exit 0).
#include "net_example_support.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

using namespace std::chrono_literals;

namespace {

// Sockets a process holds (entries of /proc/PID/fd that are sockets).
int socket_count(pid_t pid) {
  int n = 0;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind("socket:", 0) == 0) ++n;
  }
  return n;
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

// Opens 40 connections, checks an echo on each, prints "held 40", and keeps them open
// until the file argv[2] exists (30 s at most).
constexpr const char* kPythonClient = R"(
import os, socket, sys, time
port = int(sys.argv[1])
conns = []
for i in range(40):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    msg = ("hello %d\n" % i).encode()
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        chunk = s.recv(100)
        if not chunk:
            sys.exit("connection %d closed early" % i)
        got += chunk
    if got != msg:
        sys.exit("connection %d: sent %r, got %r" % (i, msg, got))
    conns.append(s)
print("held", len(conns), flush=True)
deadline = time.monotonic() + 30
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.02)
)";

}  // namespace

TEST_CASE(
    "echo_server --workers 2 serves a Python client from both workers and stops on "
    "SIGTERM",
    "[seeds][net][server_group]") {
  braid::test::ServerProcess server("echo_server", {"--workers", "2"});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  const auto w0 = server.wait_for(std::regex("worker 0 pid (\\d+)"));
  const auto w1 = server.wait_for(std::regex("worker 1 pid (\\d+)"));
  REQUIRE(w0.size() == 2);
  REQUIRE(w1.size() == 2);
  const pid_t pid0 = std::stoi(w0[1]);
  const pid_t pid1 = std::stoi(w1[1]);
  const int base0 = socket_count(pid0);
  const int base1 = socket_count(pid1);

  const std::string script = "/tmp/braid_echo_client_" + std::to_string(::getpid()) + ".py";
  {
    FILE* f = std::fopen(script.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(kPythonClient, f);
    std::fclose(f);
  }
  // The client holds its connections until `release` exists.
  const std::string release = script + ".release";
  const std::string cmd = "python3 " + script + " " + std::to_string(port) + " " + release;
  FILE* client = ::popen(cmd.c_str(), "r");
  REQUIRE(client != nullptr);
  char line[64] = {};
  REQUIRE(std::fgets(line, sizeof line, client) != nullptr);
  CHECK(std::string(line) == "held 40\n");
  // Both workers hold some of the 40 connections; the parent holds none.
  const int held0 = socket_count(pid0) - base0;
  const int held1 = socket_count(pid1) - base1;
  CAPTURE(held0, held1);
  CHECK(held0 > 0);
  CHECK(held1 > 0);
  CHECK(held0 + held1 == 40);
  std::fclose(std::fopen(release.c_str(), "w"));
  CHECK(::pclose(client) == 0);  // the client closes its connections as it exits
  std::filesystem::remove(script);
  std::filesystem::remove(release);

  CHECK(server.stop(SIGTERM, 15s) == 0);
  CHECK(server.output().find("stopped") != std::string::npos);
  CHECK(process_gone(pid0));
  CHECK(process_gone(pid1));
}
