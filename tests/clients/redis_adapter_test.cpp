// braid_redis (examples/clients/braid_redis.hpp) against a real redis-server started for
// each test (and against fake servers for the failure paths): 100 coroutines' commands
// interleave with every value checked, other coroutines run while one waits, and every
// failure is a clear error.
#include "braid_redis.hpp"
#include "parking.hpp"
#include "redis_server.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using braid::test::clients::Clock;
using braid::test::clients::RedisServer;
using braid::test::clients::seconds_since;

namespace {

std::string text(const braid_redis::Reply& r) { return std::string(r->str, r->len); }

}  // namespace

TEST_CASE("braid_redis: 100 coroutines, 10,000 SET/GET pairs, every value checked",
          "[clients][redis]") {
  RedisServer server;
  constexpr int kClients = 100, kPairs = 10000;
  int checked = 0, wrong = 0;
  std::vector<braid::Task<void>> tasks;
  for (int k = 0; k < kClients; ++k) {
    tasks.push_back(braid::spawn([&, k] {
      auto r = braid_redis::Connection::connect("127.0.0.1", server.port(), 5s);
      r.set_timeout(10s);
      for (int i = k; i < kPairs; i += kClients) {
        const std::string key = "k" + std::to_string(i), val = "v" + std::to_string(i * 7);
        auto set = r.command("SET %s %s", key.c_str(), val.c_str());
        REQUIRE(set->type == REDIS_REPLY_STATUS);
        auto get = r.command("GET %s", key.c_str());
        ++checked;
        if (get->type != REDIS_REPLY_STRING || text(get) != val) ++wrong;
      }
    }));
  }
  REQUIRE(braid::joinall(tasks, 60s));
  for (auto& t : tasks) t.get();
  CHECK(checked == kPairs);
  CHECK(wrong == 0);
  auto r = braid_redis::Connection::connect("127.0.0.1", server.port(), 5s);
  CHECK(r.command("DBSIZE")->integer == kPairs);
}

TEST_CASE("braid_redis: other coroutines run while a command waits", "[clients][redis]") {
  RedisServer server;
  auto r = braid_redis::Connection::connect("127.0.0.1", server.port(), 5s);
  braid::test::clients::Ticker ticker;
  auto reply = r.command("BLPOP %s %s", "nothing-here", "0.3");  // waits 0.3 s server-side
  CHECK(ticker.stop() >= 5);                                     // ~30 if the machine is idle
  CHECK(reply->type == REDIS_REPLY_NIL);
}

TEST_CASE("braid_redis: an error reply is a Reply, binary values round-trip", "[clients][redis]") {
  RedisServer server;
  auto r = braid_redis::Connection::connect("127.0.0.1", server.port(), 5s);
  r.command("SET %s %s", "word", "abc");
  auto e = r.command("INCR %s", "word");
  REQUIRE(e->type == REDIS_REPLY_ERROR);
  CHECK(text(e).find("not an integer") != std::string::npos);
  const std::string blob("a\0b\r\nc", 6);
  r.command("SET %s %b", "blob", blob.data(), blob.size());
  CHECK(text(r.command("GET %s", "blob")) == blob);
  CHECK(r.command("INCR %s", "n")->integer == 1);
}

TEST_CASE("braid_redis: a killed coroutine's command ends at once", "[clients][redis]") {
  RedisServer server;
  auto r = braid_redis::Connection::connect("127.0.0.1", server.port(), 5s);
  braid::test::clients::check_kill_while_parked(
      [&] { r.command("BLPOP %s %s", "nothing-here", "5"); });
  CHECK_THROWS_WITH(r.command("PING"), Catch::Contains("did not finish"));
}

TEST_CASE("braid_redis: failures are clear errors", "[clients][redis]") {
  SECTION("refused") {
    const auto port = braid::test::clients::free_port();
    CHECK_THROWS_MATCHES(
        braid_redis::Connection::connect("127.0.0.1", port, 5s), braid_redis::Error,
        Catch::Message("braid_redis: connect to 127.0.0.1:" + std::to_string(port) +
                       ": Connection refused"));
  }
  SECTION("a server that never answers: the command's timeout, then the connection is refused") {
    auto silent = braid::net::TcpListener::bind("127.0.0.1", 0);  // connects, never answers
    auto r = braid_redis::Connection::connect("127.0.0.1", silent.port(), 5s);
    r.set_timeout(200ms);
    const auto t0 = Clock::now();
    CHECK_THROWS_MATCHES(r.command("PING"), braid::TimeoutError,
                         Catch::Message("braid_redis: command: no answer within 200 ms"));
    CHECK(seconds_since(t0) < 3.0);
    CHECK_THROWS_AS(r.command("PING"), std::logic_error);
    r.close();
    CHECK_THROWS_WITH(r.command("PING"), Catch::Contains("closed connection"));
  }
  SECTION("the server closes the connection") {
    auto l = braid::net::TcpListener::bind("127.0.0.1", 0);
    auto closer = braid::spawn([&] { l.accept().close(); });
    auto r = braid_redis::Connection::connect("127.0.0.1", l.port(), 5s);
    r.set_timeout(5s);
    CHECK_THROWS_MATCHES(r.command("PING"), braid_redis::Error,
                         Catch::Message("braid_redis: command: Server closed the connection"));
    closer.get();
  }
}

TEST_CASE("RedisServer fixture: stops the server and removes its folder", "[clients][redis]") {
  std::uint16_t port = 0;
  std::string folder;
  {
    RedisServer server;
    port = server.port();
    folder = server.folder();
    CHECK(std::filesystem::is_directory(folder));
    CHECK(server.startup_seconds() < 30);
    WARN("redis-server answered PING " << server.startup_seconds() << " s after its start");
    auto r = braid_redis::Connection::connect("127.0.0.1", port, 5s);
    CHECK(text(r.command("PING")) == "PONG");
    CHECK(server.stop() == 0);  // SIGTERM: a clean exit
  }
  CHECK_THROWS_AS(braid_redis::Connection::connect("127.0.0.1", port, 5s), braid_redis::Error);
  CHECK_FALSE(std::filesystem::exists(folder));
}
