// examples/clients/pg_sleep against a real PostgreSQL server: 20 coroutines each run
// SELECT pg_sleep(0.2) and finish together in about 0.2 s, through the braid_pg adapter
// (no hooks) and through libpq's unmodified blocking PQconnectdb/PQexec with braid_hooks;
// without hooks (the control) the blocking API takes N x 0.2 s.
#include "example_output.hpp"
#include "postgres_server.hpp"
#include "run_example.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using braid::test::clients::number;
using braid::test::clients::PostgresServer;

namespace {

// Runs pg_sleep (or a build of it) against a fresh server; its output, or "" when the
// sandbox forbids running PostgreSQL (then the test is skipped with a WARN).
std::string run_pg_sleep(const std::string& program, const std::string& args, int clients) {
  std::unique_ptr<PostgresServer> pg;
  try {
    pg = std::make_unique<PostgresServer>();
  } catch (const braid::test::clients::Unavailable& e) {
    WARN("skipped: " << e.what());
    return "";
  }
  auto r = braid::test::run_example(
      program,
      args + " --clients " + std::to_string(clients) + " --conninfo '" + pg->conninfo() + "'",
      true);
  INFO(program << " " << args << ":\n" << r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("connected " + std::to_string(clients) + " clients") != std::string::npos);
  CHECK(r.out.find(std::to_string(clients) + " x SELECT pg_sleep(0.2) in ") != std::string::npos);
  CHECK(r.out.find(", 0 wrong") != std::string::npos);
  return r.out;
}

double took(const std::string& out) { return number(out, "pg_sleep\\(0.2\\) in ([0-9.]+) s"); }

}  // namespace

TEST_CASE("pg_sleep --api adapter: 20 coroutines' pg_sleep(0.2) in about 0.2 s", "[clients][pg]") {
  const std::string out = run_pg_sleep("pg_sleep", "--api adapter", 20);
  if (out.empty()) return;
  CHECK(took(out) >= 0.19);
  CHECK(took(out) < 1.0);  // one after another: 4 s
}

TEST_CASE("pg_sleep_hooked: libpq's blocking PQexec in 20 coroutines in about 0.2 s",
          "[clients][pg][hooks]") {
  REQUIRE(braid::test::clients::example_built("pg_sleep_hooked"));
  const std::string out = run_pg_sleep("pg_sleep_hooked", "--api blocking", 20);
  if (out.empty()) return;
  CHECK(out.find("braid_hooks: linked") != std::string::npos);
  CHECK(took(out) >= 0.19);
  CHECK(took(out) < 1.0);
}

TEST_CASE("pg_sleep_hooked --api adapter: the adapter works under the hooks too",
          "[clients][pg][hooks]") {
  REQUIRE(braid::test::clients::example_built("pg_sleep_hooked"));
  const std::string out = run_pg_sleep("pg_sleep_hooked", "--api adapter", 20);
  if (out.empty()) return;
  CHECK(took(out) < 1.0);  // its non-blocking descriptors are left to libc by the hooks
}

TEST_CASE("pg_sleep --api blocking without hooks (the control): one after another",
          "[clients][pg]") {
  const std::string out = run_pg_sleep("pg_sleep", "--api blocking", 5);
  if (out.empty()) return;
  CHECK(took(out) >= 0.95);  // 5 x 0.2 s: each PQexec blocks the whole thread
}

TEST_CASE("pg_sleep: a server that is not there is a clear error", "[clients][pg]") {
  const std::string conninfo =
      "'host=127.0.0.1 port=" + std::to_string(braid::test::clients::free_port()) + "'";
  for (const std::string api : {"adapter", "blocking"}) {
    auto r = braid::test::run_example("pg_sleep", "--api " + api + " --conninfo " + conninfo, true);
    INFO(r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("Connection refused") != std::string::npos);
  }
  CHECK(braid::test::run_example("pg_sleep", "--clients 3", true).exit_code == 2);  // no conninfo
}
