// A throwaway PostgreSQL server (Debian package postgresql) for one test: initdb in a
// temporary folder, then postgres on a free loopback port with its unix socket in that
// folder; stopped (SIGINT, fast shutdown) and removed when the object goes away, also when
// the test fails. PostgreSQL refuses to run as root: as root, initdb and postgres run as
// the `postgres` system user (or `nobody`), which owns the folder.
//
// Trust authentication for the user `braid`; fsync off (the data is thrown away).
#pragma once

#include "server_fixture.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>

namespace braid::test::clients {

class PostgresServer {
 public:
  /// Runs initdb and starts the server, waiting (bounded) until it accepts connections.
  /// @throws Unavailable          the sandbox forbids what it needs (switching users).
  /// @throws std::runtime_error   no PostgreSQL binaries, or it did not come up (with logs).
  PostgresServer() : dir_("braid-pg") {
    const std::string bin = bindir();
    sp::Options as;
    as.cwd = dir_.path();
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) pw = ::getpwnam("nobody");
      if (pw == nullptr) throw Unavailable("running as root and no user postgres or nobody");
      dir_.give_to(pw->pw_uid, pw->pw_gid);
      as.user = pw->pw_name;
      as.group = std::to_string(pw->pw_gid);
      as.extra_groups = std::vector<std::string>{};
      user_ = pw->pw_name;
    }
    const std::string data = dir_.path() + "/data";
    auto t0 = Clock::now();
    {
      std::optional<ServerChild> initdb;
      try {
        initdb.emplace(
            std::vector<std::string>{bin + "/initdb", "-D", data, "-U", "braid", "--auth=trust",
                                     "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
            dir_.path() + "/initdb.log", SIGTERM, as);
      } catch (const std::system_error& e) {
        if (e.code().value() == EPERM) {
          throw Unavailable("cannot run initdb as user " + user_ + ": " + e.what());
        }
        throw;
      }
      wait_exit(*initdb, "initdb");
    }
    initdb_seconds_ = seconds_since(t0);
    t0 = Clock::now();
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      child_ = std::make_unique<ServerChild>(
          std::vector<std::string>{
              bin + "/postgres", "-D", data, "-p", std::to_string(port_), "-k", dir_.path(), "-c",
              "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
              "full_page_writes=off", "-c", "max_connections=120", "-c", "shared_buffers=16MB"},
          dir_.path() + "/postgres.log", SIGINT, as);
      try {
        wait_ready(*child_, "postgres on port " + std::to_string(port_),
                   [this] { return PQping(conninfo().c_str()) == PQPING_OK; });
        break;
      } catch (const std::runtime_error&) {
        const bool port_taken = child_->log().find("could not bind") != std::string::npos;
        child_.reset();
        if (!port_taken || attempt == 3) throw;  // else another process took the port
      }
    }
    start_seconds_ = seconds_since(t0);
    std::fprintf(stderr, "[postgres fixture] initdb %.2f s, ready after %.2f s, port %u, as %s\n",
                 initdb_seconds_, start_seconds_, port_, user_.c_str());
  }

  /// A libpq conninfo string for the server (TCP on 127.0.0.1).
  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " user=braid dbname=postgres connect_timeout=10";
  }
  std::uint16_t port() const noexcept { return port_; }
  double initdb_seconds() const noexcept { return initdb_seconds_; }
  double start_seconds() const noexcept { return start_seconds_; }

 private:
  // The newest /usr/lib/postgresql/<version>/bin (Debian), or $BRAID_PG_BINDIR.
  static std::string bindir() {
    if (const char* env = std::getenv("BRAID_PG_BINDIR"); env != nullptr && *env != '\0') {
      return env;
    }
    std::vector<std::filesystem::path> found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      const std::string v = e.path().filename().string();
      const bool numeric = !v.empty() && std::all_of(v.begin(), v.end(), ::isdigit);
      if (numeric && ::access((e.path() / "bin/postgres").c_str(), X_OK) == 0) {
        found.push_back(e.path());
      }
    }
    if (found.empty()) {
      throw std::runtime_error(
          "no PostgreSQL server under /usr/lib/postgresql/*/bin: install the Debian package "
          "postgresql (scripts/setup.sh does), or set BRAID_PG_BINDIR");
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return std::stoi(a.filename().string()) < std::stoi(b.filename().string());
    });
    return (found.back() / "bin").string();
  }

  static void wait_exit(ServerChild& child, const std::string& what) {
    int code = 0;
    try {
      code = child.wait(std::chrono::seconds(60));
    } catch (const sp::TimeoutExpired&) {
      throw std::runtime_error(what + " did not finish within 60 s; its log:\n" + child.log());
    }
    if (code != 0) {
      throw std::runtime_error(what + " failed (status " + std::to_string(code) + "); its log:\n" +
                               child.log());
    }
  }

  TempDir dir_;
  std::string user_ = "the current user";
  std::uint16_t port_ = 0;
  std::unique_ptr<ServerChild> child_;
  double initdb_seconds_ = 0, start_seconds_ = 0;
};

}  // namespace braid::test::clients
