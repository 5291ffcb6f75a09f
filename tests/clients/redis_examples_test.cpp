// examples/clients/redis_setget against a real redis-server: hiredis' unmodified blocking
// API in 100 coroutines with braid_hooks, the braid_redis adapter without hooks, and the
// blocking API without hooks as the control. 10,000 round trips (5,000 SET + 5,000 GET),
// every value read back checked.
//
// Loopback answers a command in ~20 us, about what the client itself spends on it, so
// there is no waiting for concurrency to overlap: the timed runs go through delay_proxy,
// which adds 100 us each way, a fast LAN's latency (docs/guide-clients.md has both).
#include "example_output.hpp"
#include "net_example_support.hpp"
#include "redis_server.hpp"
#include "run_example.hpp"

#include <catch2/catch.hpp>

#include <string>

using braid::test::clients::number;
using braid::test::clients::RedisServer;

namespace {

struct Proxied {
  RedisServer redis;
  braid::test::ServerProcess proxy{
      "delay_proxy", {"--to-port", std::to_string(redis.port()), "--delay-us", "100"}};
  int port = proxy.wait_port();
};

// Runs redis_setget (or a build of it) and checks what every run must show.
std::string run_setget(const std::string& program, const std::string& args, int pairs) {
  auto r = braid::test::run_example(program, args + " --pairs " + std::to_string(pairs), true);
  INFO(program << " " << args << ":\n" << r.out);
  CHECK(r.exit_code == 0);
  const std::string checked = std::to_string(pairs) + " values checked, 0 wrong";
  CHECK(r.out.find("sequential: 1 client, " + std::to_string(pairs) + " SET/GET pairs, " +
                   checked) != std::string::npos);
  CHECK(r.out.find(", " + checked) != r.out.rfind(", " + checked));  // both passes
  return r.out;
}

}  // namespace

TEST_CASE(
    "redis_setget_hooked: hiredis' blocking API in 100 coroutines, 10,000 round trips, "
    "faster by the concurrency",
    "[clients][redis][hooks]") {
  REQUIRE(braid::test::clients::example_built("redis_setget_hooked"));
  Proxied p;
  REQUIRE(p.port > 0);
  const std::string out = run_setget(
      "redis_setget_hooked", "--api blocking --clients 100 --port " + std::to_string(p.port), 5000);
  CHECK(out.find("braid_hooks: linked") != std::string::npos);
  CHECK(number(out, "speed-up: ([0-9.]+)x") >= 1.5);  // ~3.5x on a loaded 2-core VM
}

TEST_CASE(
    "redis_setget --api adapter: braid_redis in 100 coroutines without hooks, faster by "
    "the concurrency",
    "[clients][redis]") {
  Proxied p;
  REQUIRE(p.port > 0);
  const std::string out = run_setget(
      "redis_setget", "--api adapter --clients 100 --port " + std::to_string(p.port), 5000);
  CHECK(out.find("braid_hooks: not linked") != std::string::npos);
  CHECK(number(out, "speed-up: ([0-9.]+)x") >= 1.5);
}

TEST_CASE("redis_setget --api blocking without hooks (the control): one call after another",
          "[clients][redis]") {
  Proxied p;
  REQUIRE(p.port > 0);
  const std::string out = run_setget(
      "redis_setget", "--api blocking --clients 100 --port " + std::to_string(p.port), 1000);
  CHECK(out.find("braid_hooks: not linked") != std::string::npos);
  // Each call blocks the whole thread: the 2,000 round trips of 200 us or more happen one
  // after another, concurrent or not (with hooks this pass takes ~0.1 s).
  CHECK(number(out, "concurrent: 100 clients, .* in ([0-9.]+) s") >= 0.4);
}

TEST_CASE("redis_setget: a server that is not there is a clear error", "[clients][redis]") {
  const std::string port = std::to_string(braid::test::clients::free_port());
  for (const std::string program : {"redis_setget", "redis_setget_hooked"}) {
    for (const std::string api : {"blocking", "adapter"}) {
      if (!braid::test::clients::example_built(program)) continue;
      auto r = braid::test::run_example(program, "--api " + api + " --port " + port, true);
      INFO(program << " --api " << api << ":\n" << r.out);
      CHECK(r.exit_code == 1);
      CHECK(r.out.find("Connection refused") != std::string::npos);
    }
  }
  auto usage = braid::test::run_example("redis_setget", "--api nonsense --port 1", true);
  CHECK(usage.exit_code == 2);
  CHECK(usage.out.find("usage:") != std::string::npos);
}
