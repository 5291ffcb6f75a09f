#include <braid/net/stream_server.hpp>
#include <braid/net/tls_stream.hpp>

#include <braid/coro/event.hpp>
#include <braid/coro/semaphore.hpp>
#include <braid/coro/sleep.hpp>
#include <braid/coro/task.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/log.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/system/system_error.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#if defined(__linux__)
#include <netinet/tcp.h>
#endif

namespace braid::net {

using namespace std::chrono_literals;

namespace {

// How long stop() waits for killed handlers to unwind before it gives up on them
// (gevent's pool.kill(timeout=1) in BaseServer.stop).
constexpr Duration kUnwindWait = 1s;

// One accepted connection, from its spawn until its handler ends.
struct Connection {
  Task<void> task;              // the handler's coroutine
  TcpStream* stream = nullptr;  // the handler's stream, once it runs
  bool seen_waiting = false;    // the last idle sweep found it parked on the socket
  bool shut = false;            // the idle sweep shut the socket down
};

}  // namespace

struct StreamServer::State {
  std::string host;                  // what start() binds to
  std::uint16_t requested_port = 0;  // 0 = ephemeral
  Handler handler;                   // runs once per connection (plain TCP)
  std::optional<TlsContext> tls;     // a TLS server's context
  TlsHandler tls_handler;            // runs once per connection, after the handshake
  ServerOptions opts;
  TcpListener listener;    // open between start() and stop()
  std::string name;        // "127.0.0.1:8080", for logs
  std::uint16_t port = 0;  // bound port
  bool started = false;
  Hub* hub = nullptr;             // the hub start() ran on: the listener is registered with it
  bool closed = false;            // stop() was called
  Task<void> acceptor;            // the accept loop
  Task<void> sweeper;             // the idle sweep, with idle_timeout
  std::optional<Semaphore> room;  // max_connections slots, when bounded
  std::unordered_map<std::uint64_t, Connection> live;  // running handlers by task id
  Event changed;                                       // set whenever a handler finishes
  Event sweep_stop;                                    // ends the idle sweep
  Event stopped;  // set once stop() is done; serve_forever waits on it
  // stats(): plain counters, touched only on the hub's thread. `closed` counts removals
  // from `live`, so accepted == live.size() + closed holds by construction.
  std::uint64_t accepted = 0;
  std::uint64_t closed_count = 0;
  std::uint64_t handler_errors = 0;
  std::uint64_t peer_errors = 0;
};

namespace {

using State = StreamServer::State;

// A peer that resets, closes mid-message or stops reading is an everyday event on a
// server, not an error of the server's.
bool peer_went_away(const std::exception& e) {
  auto gone = [](const std::error_code& c) {
    return c == std::errc::connection_reset || c == std::errc::broken_pipe ||
           c == std::errc::connection_aborted || c == std::errc::not_connected;
  };
  if (dynamic_cast<const EOFError*>(&e) != nullptr) return true;
  if (dynamic_cast<const TlsError*>(&e) != nullptr) return true;  // bad records, alerts
  if (const auto* se = dynamic_cast<const std::system_error*>(&e)) return gone(se->code());
  if (const auto* be = dynamic_cast<const boost::system::system_error*>(&e)) {
    const boost::system::error_code& c = be->code();
    return c == boost::asio::error::eof || c == boost::asio::ssl::error::stream_truncated ||
           gone(std::error_code(c));
  }
  return false;
}

// A TLS connection: the handshake in the connection's own coroutine (so a slow or
// hostile client holds up no one else), the handler, and close_notify when the handler
// returned normally. A failed handshake is the client's doing: counted, logged at debug.
void serve_tls(State& st, TcpStream& stream, std::uint64_t id) {
  std::optional<TlsStream> tls;
  try {
    tls.emplace(TlsStream::accept(std::move(stream), *st.tls, st.opts.tls_handshake_timeout));
  } catch (const std::exception& e) {  // TlsError, or TimeoutError (the bound above)
    ++st.peer_errors;
    braid::detail::log().debug("StreamServer {}: {}", st.name, e.what());
    return;
  }
  // The idle sweep and stop() act on the socket, now inside the TLS stream.
  if (auto it = st.live.find(id); it != st.live.end()) it->second.stream = &tls->next_layer();
  struct Unlink {
    State& st;
    std::uint64_t id;
    ~Unlink() {
      if (auto it = st.live.find(id); it != st.live.end()) it->second.stream = nullptr;
    }
  } unlink{st, id};
  st.tls_handler(*tls);
  if (!tls->is_open()) return;
  try {
    tls->shutdown(st.opts.tls_handshake_timeout);
  } catch (const std::exception& e) {  // the client is gone or the handler shut down already
    braid::detail::log().debug("StreamServer {}: closing TLS: {}", st.name, e.what());
  }
}

// The body of one connection's coroutine. The stream is closed when the handler ends,
// however it ends; an exception is logged and touches no other connection.
void run_handler(State& st, TcpStream& stream) {
  const std::uint64_t id = braid::detail::Scheduling::running(Hub::current()).id;
  if (auto it = st.live.find(id); it != st.live.end()) it->second.stream = &stream;
  struct Finish {
    State& st;
    std::uint64_t id;
    ~Finish() {
      // The hub keeps this coroutine's record alive until it has switched away, so
      // dropping our own handle here is safe.
      st.closed_count += st.live.erase(id);
      if (st.room) st.room->release();
      st.changed.set();
    }
  } finish{st, id};
  try {
    if (st.tls) {
      serve_tls(st, stream, id);
    } else {
      st.handler(stream);
    }
  } catch (const GreenletExit&) {
    stream.close();
    throw;  // being killed (stop() after its grace): unwind, not an error
  } catch (const std::exception& e) {
    if (peer_went_away(e)) {
      ++st.peer_errors;
      braid::detail::log().debug("StreamServer {}: {} went away: {}", st.name,
                                 stream.peer_address().to_string(), e.what());
    } else {
      ++st.handler_errors;
      braid::detail::log().error("StreamServer {}: handler for {} failed: {}", st.name,
                                 stream.peer_address().to_string(), e.what());
    }
  } catch (...) {
    ++st.handler_errors;
    braid::detail::log().error(
        "StreamServer {}: handler for {} failed with a non-standard "
        "exception",
        st.name, stream.peer_address().to_string());
  }
  stream.close();
}

void accept_loop(const std::shared_ptr<State>& st) {
  for (;;) {
    if (st->room) st->room->acquire();  // max_connections: the rest wait in the backlog
    TcpStream stream;
    try {
      stream = st->listener.accept();
    } catch (const GreenletExit&) {
      if (st->room) st->room->release();
      throw;
    } catch (const std::exception& e) {
      if (st->room) st->room->release();
      if (st->closed || !st->listener.is_open()) return;
      braid::detail::log().error("StreamServer {}: {}", st->name, e.what());
      braid::sleep(100ms);  // e.g. a broken listener: do not spin
      continue;
    }
    auto task = braid::spawn([st, s = std::move(stream)]() mutable { run_handler(*st, s); });
    st->live.emplace(task.id(), Connection{task});
    ++st->accepted;
  }
}

// How long no byte has moved on `fd` in either direction, as the kernel counts it;
// nullopt where it cannot tell. Reading it costs one getsockopt per sweep and nothing
// on the data path.
std::optional<Duration> quiet_for(int fd) {
#if defined(__linux__)
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  return std::chrono::milliseconds(std::min(info.tcpi_last_data_recv, info.tcpi_last_data_sent));
#else
  (void)fd;
  return std::nullopt;
#endif
}

// Whether the handler is parked in a recv or send on its own socket.
bool waits_on_socket(const braid::detail::FiberRecord& rec, int fd) {
  return rec.state == braid::detail::FiberState::parked && rec.wait.arg == fd &&
         (std::strcmp(rec.wait.what, "recv") == 0 || std::strcmp(rec.wait.what, "send") == 0);
}

// One connection's idle check. Shutting the socket down (rather than killing the
// handler) lets the handler see an ordinary end of stream and finish its own way.
void check_idle(State& st, Connection& c, Duration limit) {
  if (c.stream == nullptr || !c.task.valid() || c.shut) return;
  const int fd = c.stream->native_handle();
  if (fd < 0 || !waits_on_socket(*c.task.state_ptr(), fd)) {
    c.seen_waiting = false;
    return;
  }
  // Seen waiting twice in a row, so a handler that only just started waiting after
  // long work of its own (no traffic meanwhile) is not cut off at once.
  if (!c.seen_waiting) {
    c.seen_waiting = true;
    return;
  }
  const std::optional<Duration> quiet = quiet_for(fd);
  if (!quiet || *quiet < limit) return;
  braid::detail::log().debug("StreamServer {}: closing {} (idle for {} ms)", st.name,
                             c.stream->peer_address().to_string(),
                             std::chrono::duration_cast<std::chrono::milliseconds>(*quiet).count());
  ::shutdown(fd, SHUT_RDWR);
  c.shut = true;
}

// The idle sweep: every quarter of idle_timeout, one look at each connection.
void sweep_idle(const std::shared_ptr<State>& st) {
  const Duration limit = *st->opts.idle_timeout;
  const Duration period = std::max<Duration>(limit / 4, 1ms);
  std::vector<std::uint64_t> ids;
  while (!st->sweep_stop.wait(period)) {
    ids.clear();
    for (const auto& entry : st->live) ids.push_back(entry.first);
    for (const std::uint64_t id : ids) {
      Hub::current().cooperate();  // thousands of connections: let the others run too
      if (auto it = st->live.find(id); it != st->live.end()) check_idle(*st, it->second, limit);
    }
  }
}

void use_tls(State& st, const TlsContext& tls, StreamServer::TlsHandler handler) {
  if (!handler) throw std::invalid_argument("StreamServer: empty handler");
  if (!tls.is_server()) {
    throw std::invalid_argument("StreamServer: a client TLS context (use TlsContext::server)");
  }
  st.handler = nullptr;
  st.tls = tls;
  st.tls_handler = std::move(handler);
}

void check_options(const ServerOptions& o) {
  if (o.tls_handshake_timeout <= Duration::zero()) {
    throw std::invalid_argument(
        "StreamServer: ServerOptions::tls_handshake_timeout must be positive");
  }
  if (o.stop_timeout < Duration::zero()) {
    throw std::invalid_argument("StreamServer: ServerOptions::stop_timeout is negative");
  }
  if (o.idle_timeout && *o.idle_timeout <= Duration::zero()) {
    throw std::invalid_argument("StreamServer: ServerOptions::idle_timeout must be positive");
  }
#if !defined(__linux__)
  if (o.idle_timeout) {
    throw std::invalid_argument(
        "StreamServer: ServerOptions::idle_timeout needs TCP_INFO, which only Linux has");
  }
#endif
}

}  // namespace

StreamServer::StreamServer(std::string host, std::uint16_t port, Handler handler,
                           ServerOptions opts)
    : st_(std::make_shared<State>()) {
  if (!handler) throw std::invalid_argument("StreamServer: empty handler");
  check_options(opts);
  st_->host = std::move(host);
  st_->requested_port = port;
  st_->handler = std::move(handler);
  st_->opts = opts;
}

StreamServer::StreamServer(TcpListener listener, Handler handler, ServerOptions opts)
    : st_(std::make_shared<State>()) {
  if (!handler) throw std::invalid_argument("StreamServer: empty handler");
  if (!listener.is_open()) throw std::invalid_argument("StreamServer: listener is closed");
  check_options(opts);
  st_->listener = std::move(listener);
  st_->handler = std::move(handler);
  st_->opts = opts;
}

// The TLS constructors build a plain server, then switch it to TLS: the handshake and
// the TLS handler replace the TCP handler (serve_tls).
StreamServer::StreamServer(std::string host, std::uint16_t port, const TlsContext& tls,
                           TlsHandler handler, ServerOptions opts)
    : StreamServer(std::move(host), port, Handler([](TcpStream&) {}), opts) {
  use_tls(*st_, tls, std::move(handler));
}

StreamServer::StreamServer(TcpListener listener, const TlsContext& tls, TlsHandler handler,
                           ServerOptions opts)
    : StreamServer(std::move(listener), Handler([](TcpStream&) {}), opts) {
  use_tls(*st_, tls, std::move(handler));
}

StreamServer::~StreamServer() {
  if (!st_->started || st_->closed) return;
  if (Hub::current_if_any() != st_->hub) {
    // Destroyed after its hub (a static server at exit: the thread's hub goes first). The
    // listener and the tasks belong to an io_context that no longer exists, and even
    // closing them would touch it: the state is left alone, reachable (no leak report),
    // and the process's exit closes the descriptors.
    static auto* abandoned = new std::vector<std::shared_ptr<State>>();
    abandoned->push_back(std::move(st_));
    return;
  }
  try {
    stop(Duration::zero());
  } catch (...) {
    braid::detail::log().warn("StreamServer {}: stop on destruction was interrupted", st_->name);
  }
}

void StreamServer::start() {
  State& st = *st_;
  if (st.closed) throw std::logic_error("StreamServer.start: the server was stopped");
  if (st.started) throw std::logic_error("StreamServer.start: already started");
  if (!st.listener.is_open()) {
    st.listener =
        TcpListener::bind(st.host, st.requested_port, st.opts.backlog, st.opts.reuse_port);
  }
  const Address local = st.listener.local_address();
  st.port = local.port;
  st.name = local.to_string();
  if (st.opts.max_connections > 0) st.room.emplace(st.opts.max_connections);
  st.started = true;
  st.hub = &Hub::current();
  st.acceptor = braid::spawn(SpawnOptions{"StreamServer " + st.name + " accept", 0},
                             [st = st_] { accept_loop(st); });
  if (st.opts.idle_timeout) {
    st.sweeper = braid::spawn(SpawnOptions{"StreamServer " + st.name + " idle sweep", 0},
                              [st = st_] { sweep_idle(st); });
  }
}

void StreamServer::serve_forever() {
  if (!st_->started && !st_->closed) start();
  st_->stopped.wait();
}

void StreamServer::stop(std::optional<Duration> grace) {
  State& st = *st_;
  if (st.closed) return;
  st.closed = true;
  // Closing the listener makes the accept loop return by itself (a parked accept wakes
  // with an error; one not yet started fails at once). Only a loop parked waiting for
  // room (max_connections) has to be killed. Killing a task that never started leaks it
  // at present (see the report on Hub::cancel_unstarted), so we never do.
  st.listener.close();
  if (st.acceptor.valid() && !st.acceptor.ready()) {
    if (st.room && st.room->value() == 0) {
      st.acceptor.kill();
    } else {
      st.acceptor.join();
    }
  }
  if (st.sweeper.valid()) {  // it parks only in its Event wait and cooperate()
    st.sweep_stop.set();
    st.sweeper.join();
  }

  // A handler may be the one stopping the server: it is neither waited for nor killed.
  const std::uint64_t self =
      Hub::current().in_coroutine() ? braid::detail::Scheduling::running(Hub::current()).id : 0;
  auto others = [&] { return st.live.size() - st.live.count(self); };
  const detail::CallDeadline deadline(grace.value_or(st.opts.stop_timeout));
  while (others() > 0) {
    const auto left = deadline.remaining();
    if (left && *left <= Duration::zero()) break;
    st.changed.clear();
    if (!st.changed.wait(left)) break;
  }

  // The grace is over: kill the rest, and give them a bounded time to unwind.
  std::vector<Task<void>> rest;
  for (auto& [id, c] : st.live) {
    if (id != self) rest.push_back(c.task);
  }
  for (auto& t : rest) t.kill(false);
  const detail::CallDeadline unwind(kUnwindWait);
  for (auto& t : rest) t.join(unwind.remaining());
  // One that would not die (it caught GreenletExit and went on) keeps running, but its
  // client is not left hanging: its connection is closed under it.
  std::size_t stuck = 0;
  for (auto& t : rest) {
    auto it = st.live.find(t.id());
    if (it == st.live.end()) continue;
    if (t.ready()) {
      st.live.erase(it);  // finished without running its body (killed before it started)
      ++st.closed_count;
      continue;
    }
    if (it->second.stream != nullptr) it->second.stream->close();
    ++stuck;
  }
  if (stuck > 0) {
    braid::detail::log().warn(
        "StreamServer {}: {} handler(s) still running {} ms after being killed; their "
        "connections are closed",
        st.name, stuck, std::chrono::duration_cast<std::chrono::milliseconds>(kUnwindWait).count());
  }
  st.stopped.set();
}

std::uint16_t StreamServer::port() const { return st_->port; }
std::size_t StreamServer::connection_count() const { return st_->live.size(); }
ServerStats StreamServer::stats() const {
  const State& st = *st_;
  return ServerStats{st.accepted, st.live.size(), st.closed_count, st.handler_errors,
                     st.peer_errors};
}
bool StreamServer::started() const { return st_->started; }
bool StreamServer::closed() const { return st_->closed; }

}  // namespace braid::net
