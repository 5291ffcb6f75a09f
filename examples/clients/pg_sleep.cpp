// libpq in braid coroutines against a real PostgreSQL server: N clients each run
// `SELECT pg_sleep(S), i` at the same time; concurrent, the whole takes about S, not N x S.
//
//   pg_sleep --conninfo "host=127.0.0.1 port=P user=U dbname=postgres"
//            [--api adapter|blocking] [--clients 20] [--seconds 0.2]
//
// --api adapter: braid_pg.hpp (libpq's non-blocking API and braid waits): concurrent
//   without hooks.
// --api blocking: libpq's own blocking API (PQconnectdb, PQexec), unmodified. In the
//   pg_sleep_hooked build braid_hooks is linked in and those calls park only their
//   coroutine; in the plain pg_sleep build they block the thread: N x S (the control).
#include "../cli.hpp"
#include "braid_pg.hpp"
#include "hooked.hpp"

#include <braid/coro.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// One client's connection: runs a query and returns the first column of its first row.
using Query = std::function<std::string(const std::string& sql)>;

std::string first_value(const PGresult* r) {
  if (PQntuples(r) < 1 || PQnfields(r) < 1) return "(no rows)";
  return PQgetvalue(r, 0, PQnfields(r) - 1);
}

// libpq's blocking API, exactly as a program that never heard of braid would use it.
Query open_blocking(const std::string& conninfo) {
  std::shared_ptr<PGconn> conn(PQconnectdb(conninfo.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("PQconnectdb: ") + PQerrorMessage(conn.get()));
  }
  return [conn](const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), PQclear);
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
    }
    return first_value(r.get());
  };
}

Query open_adapter(const std::string& conninfo) {
  auto conn = std::make_shared<braid_pg::Connection>(braid_pg::Connection::connect(conninfo, 10s));
  return [conn](const std::string& sql) { return first_value(conn->exec(sql, 30s).get()); };
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs f(k) for k in [0, n), one coroutine each, and rethrows the first failure.
void in_parallel(int n, const std::function<void(int)>& f) {
  std::vector<braid::Task<void>> tasks;
  for (int k = 0; k < n; ++k) tasks.push_back(braid::spawn(f, k));
  braid::joinall(tasks);
  for (auto& t : tasks) t.get();
}

}  // namespace

int main(int argc, char** argv) {
  std::string conninfo, api = "adapter";
  int clients = 20;
  double seconds = 0.2;
  namespace po = braid_cli::po;
  po::options_description opts("options");
  opts.add_options()("conninfo", po::value(&conninfo)->required(), "libpq connection string")(
      "api", po::value(&api)->default_value(api), "adapter or blocking")(
      "clients", po::value(&clients)->default_value(clients), "concurrent clients")(
      "seconds", po::value(&seconds)->default_value(seconds), "each one's pg_sleep");
  const char* usage = "--conninfo STR [--api adapter|blocking] [--clients N] [--seconds S]";
  braid_cli::parse(argc, argv, usage, opts);
  if (conninfo.empty() || clients < 1 || (api != "blocking" && api != "adapter"))
    braid_cli::fail(argv[0], usage, "a value is out of range");
  try {
    std::printf("api: %s, braid_hooks: %s\n", api.c_str(), braid_clients::kHooksState);
    std::vector<Query> conns(static_cast<std::size_t>(clients));
    auto t0 = Clock::now();
    in_parallel(clients, [&](int k) {
      conns[static_cast<std::size_t>(k)] =
          api == "blocking" ? open_blocking(conninfo) : open_adapter(conninfo);
    });
    std::printf("connected %d clients in %.3f s\n", clients, since(t0));
    std::printf("server: %s\n", conns[0]("SHOW server_version").c_str());

    int wrong = 0;
    t0 = Clock::now();
    in_parallel(clients, [&](int k) {
      const std::string got = conns[static_cast<std::size_t>(k)](
          "SELECT pg_sleep(" + std::to_string(seconds) + "), " + std::to_string(k));
      if (got != std::to_string(k)) {
        ++wrong;
        std::printf("WRONG client %d: %s\n", k, got.c_str());
      }
    });
    const double took = since(t0);
    std::printf("%d x SELECT pg_sleep(%g) in %.3f s (one after another: %.1f s), %d wrong\n",
                clients, seconds, took, clients * seconds, wrong);
    return wrong == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_sleep: %s\n", e.what());
    return 1;
  }
}
