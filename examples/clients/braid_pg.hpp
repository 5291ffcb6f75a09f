// braid_pg: libpq's non-blocking API driven by braid waits, so a query parks only the
// calling coroutine (no braid_hooks needed). Header-only; link libpq.
//
//   auto db = braid_pg::Connection::connect("host=127.0.0.1 port=5432 dbname=postgres", 5s);
//   braid_pg::Result r = db.exec("SELECT 1 + 1");
//   std::string two = PQgetvalue(r.get(), 0, 0);
//
// How: PQconnectStart/PQconnectPoll say whether they next need the socket readable or
// writable; PQsendQuery/PQflush/PQconsumeInput/PQisBusy/PQgetResult run a query without
// ever blocking. Between steps the coroutine parks on PQsocket() with
// braid::wait_readable/wait_writable (braid::net::select while a flush needs either).
//
// Limits: host names are resolved inside PQconnectStart with a blocking getaddrinfo (give
// numeric addresses or a unix socket directory, or link braid_hooks, which sends it to the
// thread pool). COPY is not supported by exec(). A timeout or a kill that interrupts
// exec() leaves the query running on the server and the protocol state unknown: the
// connection refuses further use (std::logic_error) and should be dropped.
#pragma once

#include "wait_limit.hpp"

#include <braid/net/select.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>
#include <braid/runtime/wait.hpp>

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace braid_pg {

/// libpq reported a failure (connection refused, authentication, an SQL error, ...);
/// what() carries libpq's message.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
/// A query's result (never null when returned by exec()).
using Result = std::unique_ptr<PGresult, ResultDeleter>;

namespace detail {

// libpq's messages end with a newline; ours do not.
inline std::string trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace detail

class Connection {
 public:
  /// Opens a connection (libpq conninfo string or URI), parking while libpq waits for the
  /// server.
  /// @throws Error              refused, authentication failed, bad conninfo, ...
  /// @throws braid::TimeoutError `timeout` passed (or an enclosing braid::Timeout fired).
  static Connection connect(const std::string& conninfo,
                            std::optional<braid::Duration> timeout = {}) {
    Connection c(PQconnectStart(conninfo.c_str()));
    if (!c.conn_) throw std::bad_alloc();
    if (PQstatus(c.native()) == CONNECTION_BAD) throw Error("braid_pg: connect: " + c.message());
    const braid_clients::Limit limit(timeout, "braid_pg: connect");
    // As the libpq manual says: start as if PQconnectPoll had answered "writing".
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    for (;;) {
      const int fd = PQsocket(c.native());  // may change between hosts: ask every time
      if (poll == PGRES_POLLING_READING) {
        limit.wait([fd](auto left) { braid::wait_readable(fd, left); });
      } else if (poll == PGRES_POLLING_WRITING) {
        limit.wait([fd](auto left) { braid::wait_writable(fd, left); });
      }
      poll = PQconnectPoll(c.native());
      if (poll == PGRES_POLLING_OK) break;
      if (poll == PGRES_POLLING_FAILED) throw Error("braid_pg: connect: " + c.message());
    }
    if (PQsetnonblocking(c.native(), 1) != 0) throw Error("braid_pg: connect: " + c.message());
    return c;
  }

  /// Runs `sql` (one or more statements) and returns the last statement's result, parking
  /// while the server works. The connection stays usable after an SQL error.
  /// @throws Error               the server reported an error (what(): its message).
  /// @throws braid::TimeoutError  `timeout` passed; the connection is then unusable.
  /// @throws std::logic_error     the connection is closed or was interrupted mid-query.
  Result exec(const std::string& sql, std::optional<braid::Duration> timeout = {}) {
    check_usable();
    braid::Hub::current().cooperate();  // a run of instant queries must not starve others
    if (PQsendQuery(native(), sql.c_str()) == 0) throw Error("braid_pg: exec: " + message());
    in_flight_ = true;
    const braid_clients::Limit limit(timeout, "braid_pg: exec");
    flush(limit);
    Result last, error;
    for (;;) {
      while (PQisBusy(native()) == 0) {
        Result r(PQgetResult(native()));
        if (!r) {
          in_flight_ = false;
          if (error) throw Error("braid_pg: " + detail::trimmed(PQresultErrorMessage(error.get())));
          if (!last) throw Error("braid_pg: exec: no result (empty query string?)");
          return last;
        }
        switch (PQresultStatus(r.get())) {
          case PGRES_COPY_IN:
          case PGRES_COPY_OUT:
          case PGRES_COPY_BOTH:
            throw std::logic_error("braid_pg: exec: COPY is not supported (" + sql + ")");
          case PGRES_FATAL_ERROR:
          case PGRES_BAD_RESPONSE:
            if (!error) error = std::move(r);  // later statements were not run
            break;
          default:
            last = std::move(r);
        }
      }
      const int fd = PQsocket(native());
      limit.wait([fd](auto left) { braid::wait_readable(fd, left); });
      if (PQconsumeInput(native()) == 0) throw Error("braid_pg: exec: " + message());
    }
  }

  /// The libpq connection, for PQ* calls that do not block (PQserverVersion, PQescape*...).
  PGconn* native() const noexcept { return conn_.get(); }
  /// Closes the connection (PQfinish); the destructor does the same.
  void close() noexcept { conn_.reset(); }

 private:
  struct Finish {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  explicit Connection(PGconn* c) : conn_(c) {}

  std::string message() const { return detail::trimmed(PQerrorMessage(native())); }

  void check_usable() const {
    if (!conn_) throw std::logic_error("braid_pg: exec on a closed connection");
    if (in_flight_) {
      throw std::logic_error(
          "braid_pg: exec after an earlier exec did not finish (timeout, kill or lost "
          "connection): the connection's state is unknown; open a new one");
    }
  }

  // Sends what libpq buffered. While the socket is full the server may be waiting for us
  // to read (a large result): wait for either direction and read as well as write.
  void flush(const braid_clients::Limit& limit) {
    for (;;) {
      const int r = PQflush(native());
      if (r == 0) return;
      if (r < 0) throw Error("braid_pg: exec: " + message());
      const int fd = PQsocket(native());
      bool readable = false;
      limit.wait([&](auto left) {
        const auto ready = braid::net::select({&fd, 1}, {&fd, 1}, {}, left);
        if (ready.readable.empty() && ready.writable.empty()) limit.fail();
        readable = !ready.readable.empty();
      });
      if (readable && PQconsumeInput(native()) == 0) throw Error("braid_pg: exec: " + message());
    }
  }

  std::unique_ptr<PGconn, Finish> conn_;
  bool in_flight_ = false;
};

}  // namespace braid_pg
