// braid_redis: hiredis on a non-blocking redisContext, driven by braid waits, so a command
// parks only the calling coroutine (no braid_hooks needed). Header-only; link hiredis.
//
//   auto r = braid_redis::Connection::connect("127.0.0.1", 6379, 5s);
//   r.command("SET %s %s", "greeting", "hello");
//   braid_redis::Reply v = r.command("GET %s", "greeting");   // v->str == "hello"
//
// How: redisConnectNonBlock starts the connect; we park until the socket is writable and
// read the outcome from SO_ERROR. A command is formatted into the context's output buffer
// (redisvAppendCommand), written with redisBufferWrite (parking on writable while the
// socket is full) and its reply taken from the reader with redisGetReplyFromReader,
// parking on readable and feeding it with redisBufferRead until a whole reply is there.
//
// Why not hiredis' async API with an adapter (ev.addRead/delRead/addWrite/delWrite)? It
// turns every command into a callback; a coroutine would then park on a per-command
// AsyncResult anyway, and a kill or timeout would leave a callback pointing at a dead
// stack. Here a command reads like the blocking API, one connection per coroutine (or a
// braid::Lock around a shared one), and everything is freed in one place. The price: no
// pipelining of several coroutines' commands over one connection.
//
// Limits: the address must be numeric (hiredis resolves names with a blocking
// getaddrinfo). A timeout or kill inside command() leaves a reply on its way: the
// connection refuses further use (std::logic_error) and should be dropped.
#pragma once

#include "wait_limit.hpp"

#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>
#include <braid/runtime/wait.hpp>

#include <hiredis/hiredis.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace braid_redis {

/// hiredis reported a failure (connection refused or lost, out of memory, a protocol
/// error). An error *reply* from the server ("-ERR ...") is not one: it comes back as a
/// Reply of type REDIS_REPLY_ERROR, as from redisCommand.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
/// A reply (never null when returned by command()).
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class Connection {
 public:
  /// Connects to `ip`:`port` (a numeric address), parking until the server answers.
  /// @throws Error               refused, unreachable, ...
  /// @throws braid::TimeoutError `timeout` passed (or an enclosing braid::Timeout fired).
  static Connection connect(const std::string& ip, int port,
                            std::optional<braid::Duration> timeout = {}) {
    const std::string where = "braid_redis: connect to " + ip + ":" + std::to_string(port);
    Connection c(redisConnectNonBlock(ip.c_str(), port));
    if (!c.ctx_) throw std::bad_alloc();
    if (c.ctx_->err != 0) throw Error(where + ": " + c.ctx_->errstr);
    const braid_clients::Limit limit(timeout, where);
    const int fd = c.ctx_->fd;
    limit.wait([fd](auto left) { braid::wait_writable(fd, left); });
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) throw Error(where + ": " + std::strerror(err));
    return c;
  }

  /// Sends one command (redisCommand's format: "%s" a C string, "%b" a pointer and a
  /// size) and returns its reply, parking while the server works. Limited by
  /// set_timeout's limit, if any.
  /// @throws Error               the connection failed or was closed by the server.
  /// @throws braid::TimeoutError  the limit passed; the connection is then unusable.
  /// @throws std::logic_error     the connection is closed or was interrupted earlier.
  Reply command(const char* format, ...) {
    check_usable();
    braid::Hub::current().cooperate();  // a run of instant replies must not starve others
    va_list ap;
    va_start(ap, format);
    const int appended = redisvAppendCommand(ctx_.get(), format, ap);
    va_end(ap);
    if (appended != REDIS_OK) throw Error(std::string("braid_redis: command: ") + ctx_->errstr);
    in_flight_ = true;
    const braid_clients::Limit limit(timeout_, "braid_redis: command");
    const int fd = ctx_->fd;
    for (int done = 0;;) {
      if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) fail();
      if (done != 0) break;
      limit.wait([fd](auto left) { braid::wait_writable(fd, left); });
    }
    for (;;) {
      void* reply = nullptr;
      if (redisGetReplyFromReader(ctx_.get(), &reply) != REDIS_OK) fail();
      if (reply != nullptr) {
        in_flight_ = false;
        return Reply(static_cast<redisReply*>(reply));
      }
      limit.wait([fd](auto left) { braid::wait_readable(fd, left); });
      if (redisBufferRead(ctx_.get()) != REDIS_OK) fail();
    }
  }

  /// A limit for each later command() (nullopt: none).
  void set_timeout(std::optional<braid::Duration> t) noexcept { timeout_ = t; }
  /// The hiredis context (non-blocking), for calls that do not block.
  redisContext* native() const noexcept { return ctx_.get(); }
  /// Closes the connection (redisFree); the destructor does the same.
  void close() noexcept { ctx_.reset(); }

 private:
  struct Free {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
  };
  explicit Connection(redisContext* c) : ctx_(c) {}

  [[noreturn]] void fail() const {
    throw Error(std::string("braid_redis: command: ") + ctx_->errstr);
  }

  void check_usable() const {
    if (!ctx_) throw std::logic_error("braid_redis: command on a closed connection");
    if (in_flight_) {
      throw std::logic_error(
          "braid_redis: command after an earlier one did not finish (timeout, kill or lost "
          "connection): a reply may still be on its way; open a new connection");
    }
  }

  std::unique_ptr<redisContext, Free> ctx_;
  std::optional<braid::Duration> timeout_;
  bool in_flight_ = false;
};

}  // namespace braid_redis
