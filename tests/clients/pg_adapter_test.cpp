// braid_pg (examples/clients/braid_pg.hpp) against a real PostgreSQL server started for
// each test: queries of many coroutines overlap, other coroutines run while one waits,
// and every failure (refused, bad conninfo, SQL error, timeout, kill) is a clear error.
#include "braid_pg.hpp"
#include "parking.hpp"
#include "postgres_server.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using braid::test::clients::Clock;
using braid::test::clients::PostgresServer;
using braid::test::clients::seconds_since;

namespace {

// The server, or null (and a WARN) when the sandbox forbids running one.
std::unique_ptr<PostgresServer> start_postgres() {
  try {
    return std::make_unique<PostgresServer>();
  } catch (const braid::test::clients::Unavailable& e) {
    WARN("skipped: " << e.what());
    return nullptr;
  }
}

std::string value(const braid_pg::Result& r, int row = 0, int col = 0) {
  return PQgetvalue(r.get(), row, col);
}

}  // namespace

TEST_CASE("braid_pg: 20 coroutines' pg_sleep(0.2) overlap, every result checked", "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  constexpr int kClients = 20;
  std::vector<std::unique_ptr<braid_pg::Connection>> conns(kClients);
  std::vector<braid::Task<void>> tasks;
  for (int k = 0; k < kClients; ++k) {
    tasks.push_back(braid::spawn([&, k] {
      conns[k] = std::make_unique<braid_pg::Connection>(
          braid_pg::Connection::connect(pg->conninfo(), 10s));
    }));
  }
  REQUIRE(braid::joinall(tasks, 30s));
  for (auto& t : tasks) t.get();
  tasks.clear();

  std::vector<std::string> got(kClients);
  const auto t0 = Clock::now();
  for (int k = 0; k < kClients; ++k) {
    tasks.push_back(braid::spawn([&, k] {
      got[k] =
          value(conns[k]->exec("SELECT pg_sleep(0.2), " + std::to_string(k) + " AS k", 10s), 0, 1);
    }));
  }
  REQUIRE(braid::joinall(tasks, 30s));
  for (auto& t : tasks) t.get();
  const double took = seconds_since(t0);
  for (int k = 0; k < kClients; ++k) CHECK(got[k] == std::to_string(k));
  CHECK(took >= 0.19);
  CHECK(took < 0.25 * kClients * 0.2);  // one after another would be 4 s
}

TEST_CASE("braid_pg: other coroutines run while a query waits", "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  auto db = braid_pg::Connection::connect(pg->conninfo(), 10s);
  braid::test::clients::Ticker ticker;
  CHECK(value(db.exec("SELECT pg_sleep(0.3), 'slept'"), 0, 1) == "slept");
  CHECK(ticker.stop() >= 5);  // ~30 if the machine is idle
}

TEST_CASE("braid_pg: results, several statements, and the server's version", "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  auto db = braid_pg::Connection::connect(pg->conninfo(), 10s);
  CHECK(PQserverVersion(db.native()) >= 100000);
  auto r = db.exec("SELECT g, g * g FROM generate_series(1, 1000) AS g");
  REQUIRE(PQntuples(r.get()) == 1000);
  CHECK(value(r, 999, 1) == "1000000");
  // Several statements: the last one's result, as PQexec.
  CHECK(value(db.exec("CREATE TEMP TABLE t (v text); INSERT INTO t VALUES ('a'), ('b'); "
                      "SELECT string_agg(v, ',' ORDER BY v) FROM t")) == "a,b");
  // A large query text goes through the flush loop.
  const std::string big(4 << 20, 'x');
  CHECK(value(db.exec("SELECT length('" + big + "')")) == std::to_string(big.size()));
}

TEST_CASE(
    "braid_pg: an SQL error is an Error with the server's message, the connection "
    "stays usable",
    "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  auto db = braid_pg::Connection::connect(pg->conninfo(), 10s);
  CHECK_THROWS_WITH(db.exec("SELEC 1"), Catch::Contains("syntax error at or near \"SELEC\""));
  CHECK_THROWS_WITH(db.exec("SELECT 1/0; SELECT 2"), Catch::Contains("division by zero"));
  CHECK(value(db.exec("SELECT 42")) == "42");
}

TEST_CASE(
    "braid_pg: an exec past its timeout is a TimeoutError, and the connection is then refused",
    "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  auto db = braid_pg::Connection::connect(pg->conninfo(), 10s);
  const auto t0 = Clock::now();
  CHECK_THROWS_MATCHES(db.exec("SELECT pg_sleep(5)", 200ms), braid::TimeoutError,
                       Catch::Message("braid_pg: exec: no answer within 200 ms"));
  CHECK(seconds_since(t0) < 3.0);
  CHECK_THROWS_WITH(db.exec("SELECT 1"), Catch::Contains("did not finish"));
  db.close();
  CHECK_THROWS_WITH(db.exec("SELECT 1"), Catch::Contains("closed connection"));
}

TEST_CASE("braid_pg: an enclosing braid::Timeout keeps its own identity", "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  auto db = braid_pg::Connection::connect(pg->conninfo(), 10s);
  braid::Timeout outer(200ms);
  try {
    db.exec("SELECT pg_sleep(5)", 10s);
    FAIL("no timeout");
  } catch (const braid::TimeoutError& e) {
    CHECK(std::string(e.what()).find("braid_pg") == std::string::npos);  // not our limit
  }
}

TEST_CASE("braid_pg: a coroutine killed mid-query ends at once", "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  auto db = braid_pg::Connection::connect(pg->conninfo(), 10s);
  braid::test::clients::check_kill_while_parked([&] { db.exec("SELECT pg_sleep(5)"); });
  CHECK_THROWS_AS(db.exec("SELECT 1"), std::logic_error);
}

TEST_CASE("braid_pg: connection failures are Errors naming the cause", "[clients][pg]") {
  SECTION("refused") {
    const std::string conninfo =
        "host=127.0.0.1 port=" + std::to_string(braid::test::clients::free_port());
    CHECK_THROWS_AS(braid_pg::Connection::connect(conninfo, 5s), braid_pg::Error);
    CHECK_THROWS_WITH(
        braid_pg::Connection::connect(conninfo, 5s),
        Catch::StartsWith("braid_pg: connect: ") && Catch::Contains("Connection refused"));
  }
  SECTION("bad conninfo") {
    CHECK_THROWS_AS(braid_pg::Connection::connect("nonsense=1"), braid_pg::Error);
    CHECK_THROWS_WITH(braid_pg::Connection::connect("nonsense=1"),
                      Catch::Contains("invalid connection option \"nonsense\""));
  }
  SECTION("a server that never answers: the connect timeout") {
    auto silent = braid::net::TcpListener::bind("127.0.0.1", 0);  // never accepts
    const auto t0 = Clock::now();
    CHECK_THROWS_MATCHES(braid_pg::Connection::connect(
                             "host=127.0.0.1 port=" + std::to_string(silent.port()), 300ms),
                         braid::TimeoutError,
                         Catch::Message("braid_pg: connect: no answer within 300 ms"));
    CHECK(seconds_since(t0) < 3.0);
  }
}

TEST_CASE("braid_pg: unknown user is an Error with the server's message", "[clients][pg]") {
  auto pg = start_postgres();
  if (!pg) return;
  CHECK_THROWS_WITH(braid_pg::Connection::connect(pg->conninfo() + " user=nobody_here", 10s),
                    Catch::Contains("role \"nobody_here\" does not exist"));
}
