#include <braid/process/manager.hpp>

#include <braid/coro.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/detail/unique_fd.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/log.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <variant>

namespace braid::process {
namespace detail {
namespace {

constexpr std::string_view kUnixScheme = "unix:";

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Parses "unix:<path>" into a sockaddr. Other schemes (tcp:) are not implemented yet.
sockaddr_un unix_address(const std::string& address) {
  if (address.rfind(kUnixScheme, 0) != 0) {
    throw std::invalid_argument(
        fmt::format("Manager address {:?}: only unix:<path> is supported", address));
  }
  const std::string path = address.substr(kUnixScheme.size());
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    throw std::invalid_argument("Manager address: socket path too long: " + path);
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

void send_reply(int fd, const ManagerReply& r) { write_frame(fd, encode_value_frame(r)); }

// ---- the server's containers
struct Dict {
  std::vector<std::pair<std::string, std::string>> items;  // insertion order
  std::unordered_map<std::string, std::size_t> index;      // key -> position in items
  void erase_at(std::size_t pos) {
    index.erase(items[pos].first);
    items.erase(items.begin() + static_cast<std::ptrdiff_t>(pos));
    for (std::size_t i = pos; i < items.size(); ++i) index[items[i].first] = i;
  }
};
using List = std::vector<std::string>;
// Held through shared_ptr: a call parked on one keeps it alive, and they cannot move.
struct QueueBox {
  explicit QueueBox(std::size_t maxsize) : q(maxsize) {}
  braid::Queue<std::string> q;
};
struct LockBox {  // Python's threading.Lock: not owned, released by anyone
  braid::Semaphore sem{1};
  bool locked = false;
};
using QueuePtr = std::shared_ptr<QueueBox>;
using LockPtr = std::shared_ptr<LockBox>;
using EventPtr = std::shared_ptr<braid::Event>;

class Store {
 public:
  ManagerReply handle(const ManagerRequest& rq) {
    try {
      return dispatch(rq);
    } catch (const QueueEmpty& e) {
      return ManagerFailure{ManagerErrorKind::queue_empty, e.what()};
    } catch (const QueueFull& e) {
      return ManagerFailure{ManagerErrorKind::queue_full, e.what()};
    } catch (const std::exception& e) {
      return ManagerFailure{ManagerErrorKind::error, e.what()};
    }
  }

 private:
  template <class C>
  C& get(std::uint64_t id) {
    auto it = containers_.find(id);
    if (it == containers_.end() || !std::holds_alternative<C>(it->second)) {
      throw std::runtime_error(fmt::format("no such container: {}", id));
    }
    return std::get<C>(it->second);
  }
  static const std::string& arg(const ManagerRequest& rq, std::size_t i) {
    if (i >= rq.args.size()) throw std::runtime_error("malformed request: missing argument");
    return rq.args[i];
  }
  static std::size_t list_index(List& l, const std::string& blob, bool for_insert = false) {
    auto i = decode_blob<std::int64_t>(blob);
    const auto n = static_cast<std::int64_t>(l.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n + (for_insert ? 1 : 0)) throw std::runtime_error("list index out of range");
    return static_cast<std::size_t>(i);
  }

  template <class C>
  ManagerCount add(C c) {
    containers_.emplace(next_id_, std::move(c));
    return ManagerCount{next_id_++};
  }
  ManagerReply dispatch(const ManagerRequest& rq);
  // The queue, lock and event operations: those that may park.
  ManagerReply dispatch_sync(const ManagerRequest& rq);

  std::unordered_map<std::uint64_t, std::variant<Dict, List, QueuePtr, LockPtr, EventPtr>>
      containers_;
  std::uint64_t next_id_ = 1;
};

ManagerReply Store::dispatch(const ManagerRequest& rq) {
  switch (rq.op) {
    case ManagerOp::new_dict:
    case ManagerOp::new_namespace:
      return add(Dict{});
    case ManagerOp::new_list:
      return add(List{});
    case ManagerOp::new_value:
      return add(List{arg(rq, 0)});
    case ManagerOp::dict_set: {
      Dict& d = get<Dict>(rq.id);
      const std::string& k = arg(rq, 0);
      if (auto it = d.index.find(k); it != d.index.end()) {
        d.items[it->second].second = arg(rq, 1);
      } else {
        d.index.emplace(k, d.items.size());
        d.items.emplace_back(k, arg(rq, 1));
      }
      return ManagerDone{};
    }
    case ManagerOp::dict_get: {
      Dict& d = get<Dict>(rq.id);
      auto it = d.index.find(arg(rq, 0));
      if (it == d.index.end()) throw std::runtime_error("KeyError: no such key");
      return ManagerBlob{d.items[it->second].second};
    }
    case ManagerOp::dict_erase: {
      Dict& d = get<Dict>(rq.id);
      auto it = d.index.find(arg(rq, 0));
      if (it == d.index.end()) return ManagerFlag{false};
      d.erase_at(it->second);
      return ManagerFlag{true};
    }
    case ManagerOp::dict_contains:
      return ManagerFlag{get<Dict>(rq.id).index.count(arg(rq, 0)) != 0};
    case ManagerOp::dict_size:
      return ManagerCount{get<Dict>(rq.id).items.size()};
    case ManagerOp::dict_items: {
      ManagerBlobs out;
      for (const auto& [k, v] : get<Dict>(rq.id).items) {
        out.values.push_back(k);
        out.values.push_back(v);
      }
      return out;
    }
    case ManagerOp::dict_clear:
      get<Dict>(rq.id) = Dict{};
      return ManagerDone{};
    case ManagerOp::list_append:
      get<List>(rq.id).push_back(arg(rq, 0));
      return ManagerDone{};
    case ManagerOp::list_get: {
      List& l = get<List>(rq.id);
      return ManagerBlob{l[list_index(l, arg(rq, 0))]};
    }
    case ManagerOp::list_set: {
      List& l = get<List>(rq.id);
      l[list_index(l, arg(rq, 0))] = arg(rq, 1);
      return ManagerDone{};
    }
    case ManagerOp::list_pop: {
      List& l = get<List>(rq.id);
      const std::size_t i = list_index(l, arg(rq, 0));
      ManagerBlob out{std::move(l[i])};
      l.erase(l.begin() + static_cast<std::ptrdiff_t>(i));
      return out;
    }
    case ManagerOp::list_size:
      return ManagerCount{get<List>(rq.id).size()};
    case ManagerOp::list_items:
      return ManagerBlobs{get<List>(rq.id)};
    case ManagerOp::list_clear:
      get<List>(rq.id).clear();
      return ManagerDone{};
    case ManagerOp::shutdown:
      return ManagerDone{};
    default:
      return dispatch_sync(rq);
  }
}

ManagerReply Store::dispatch_sync(const ManagerRequest& rq) {
  switch (rq.op) {
    case ManagerOp::new_queue:
      return add(std::make_shared<QueueBox>(decode_blob<std::uint64_t>(arg(rq, 0))));
    case ManagerOp::queue_put: {
      const QueuePtr q = get<QueuePtr>(rq.id);  // a copy: alive while this call parks
      if (arg(rq, 2) == "1") {
        q->q.put(arg(rq, 0), decode_timeout(arg(rq, 1)));
      } else if (!q->q.try_put(arg(rq, 0))) {
        throw QueueFull("Queue.put_nowait: the queue is full");
      }
      return ManagerDone{};
    }
    case ManagerOp::queue_get: {
      const QueuePtr q = get<QueuePtr>(rq.id);
      if (arg(rq, 1) == "1") return ManagerBlob{q->q.get(decode_timeout(arg(rq, 0)))};
      if (auto v = q->q.try_get()) return ManagerBlob{std::move(*v)};
      throw QueueEmpty("Queue.get_nowait: the queue is empty");
    }
    case ManagerOp::queue_size:
      return ManagerCount{get<QueuePtr>(rq.id)->q.size()};
    case ManagerOp::queue_full:
      return ManagerFlag{get<QueuePtr>(rq.id)->q.full()};
    case ManagerOp::new_lock:
      return add(std::make_shared<LockBox>());
    case ManagerOp::lock_acquire: {
      const LockPtr l = get<LockPtr>(rq.id);
      const bool got = arg(rq, 1) == "1" ? l->sem.acquire(decode_timeout(arg(rq, 0)))
                                         : l->sem.acquire(Duration::zero());
      if (got) l->locked = true;
      return ManagerFlag{got};
    }
    case ManagerOp::lock_release: {
      const LockPtr l = get<LockPtr>(rq.id);
      if (!l->locked) throw std::runtime_error("release of an unlocked lock");
      l->locked = false;
      l->sem.release();
      return ManagerDone{};
    }
    case ManagerOp::lock_locked:
      return ManagerFlag{get<LockPtr>(rq.id)->locked};
    case ManagerOp::new_event:
      return add(std::make_shared<braid::Event>());
    case ManagerOp::event_set:
      get<EventPtr>(rq.id)->set();
      return ManagerDone{};
    case ManagerOp::event_clear:
      get<EventPtr>(rq.id)->clear();
      return ManagerDone{};
    case ManagerOp::event_is_set:
      return ManagerFlag{get<EventPtr>(rq.id)->is_set()};
    case ManagerOp::event_wait: {
      const EventPtr e = get<EventPtr>(rq.id);
      return ManagerFlag{e->wait(decode_timeout(arg(rq, 0)))};
    }
    default:
      throw std::runtime_error(fmt::format("malformed request: unknown operation {}",
                                           static_cast<std::uint32_t>(rq.op)));
  }
}

// True for the calls that may park on the server.
bool may_park(const ManagerRequest& rq) {
  switch (rq.op) {
    case ManagerOp::queue_put:
      return rq.args.size() > 2 && rq.args[2] == "1";
    case ManagerOp::queue_get:
    case ManagerOp::lock_acquire:
      return rq.args.size() > 1 && rq.args[1] == "1";
    case ManagerOp::event_wait:
      return true;
    default:
      return false;
  }
}

// Runs a call that may park while watching its client: one that goes away meanwhile (its
// connection becomes readable: EOF, since a client sends nothing else while its call is
// in flight) cancels the call, so a dead or killed client's get() takes no item and its
// acquire() leaves no lock held. nullopt when the client went away.
std::optional<ManagerReply> handle_watched(int fd, Store& store, const ManagerRequest& rq) {
  // Gone already (it sent the request, then closed before we read it): the call would
  // not even park, so no watch would catch it (a get would take an item for nobody).
  char byte = 0;
  if (braid::detail::sys::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) return std::nullopt;
  auto call = braid::spawn([&] { return store.handle(rq); });
  auto watch = braid::spawn([&] {
    braid::wait_readable(fd);
    call.kill();
  });
  std::optional<ManagerReply> reply;
  try {
    reply = call.get();
  } catch (const GreenletExit&) {
    if (!call.ready()) {  // this coroutine was killed, not the call
      watch.kill();
      call.kill();
      throw;
    }
  }
  watch.kill();
  return reply;
}

// Undoes what a parked call took for a client that is gone by the time its reply is sent
// (its get() came through while it was closing): the item goes back to the queue (at its
// end), the lock is released. Nothing is lost with a dead client.
void give_back(Store& store, const ManagerRequest& rq, const ManagerReply& reply) noexcept {
  try {
    if (const auto* item = std::get_if<ManagerBlob>(&reply);
        item != nullptr && rq.op == ManagerOp::queue_get) {
      (void)store.handle(ManagerRequest{ManagerOp::queue_put, rq.id, {item->value, "", "0"}});
    } else if (const auto* got = std::get_if<ManagerFlag>(&reply);
               got != nullptr && got->value && rq.op == ManagerOp::lock_acquire) {
      (void)store.handle(ManagerRequest{ManagerOp::lock_release, rq.id, {}});
    }
  } catch (const std::exception& e) {
    braid::detail::log().error("manager: giving back what a gone client took: {}", e.what());
  }
}

// Serves one client: the key first, then request/reply pairs until EOF.
void serve_client(int fd, const std::string& authkey, Store& store, braid::Event& stop) {
  const braid::detail::UniqueFd owned(fd);
  try {
    const auto key = read_frame(fd, std::chrono::seconds(10));
    const std::string presented(reinterpret_cast<const char*>(key.data()), key.size());
    if (presented != authkey) {
      braid::detail::log().warn("manager: a client presented a wrong authentication key");
      return;
    }
    send_reply(fd, ManagerReply{});
    for (;;) {
      Hub::current().cooperate();  // a client that pipelines requests never lets us park
      const auto rq = decode_value<ManagerRequest>(read_frame(fd));
      if (may_park(rq)) {
        const auto reply = handle_watched(fd, store, rq);
        if (!reply) break;  // the client went away
        try {
          send_reply(fd, *reply);
        } catch (...) {
          give_back(store, rq, *reply);
          throw;
        }
      } else {
        send_reply(fd, store.handle(rq));
      }
      if (rq.op == ManagerOp::shutdown) {
        stop.set();
        break;
      }
    }
  } catch (const EOFError&) {
  } catch (const std::exception& e) {
    braid::detail::log().warn("manager: dropping a client: {}", e.what());
  }
}

}  // namespace

void serve_manager(int listen_fd, const std::string& authkey) {
  Store store;
  braid::Event stop;
  auto acceptor = braid::spawn([&] {
    for (;;) {
      Hub::current().cooperate();  // a flood of connections keeps accept succeeding
      const int fd =
          braid::detail::sys::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        braid::spawn([fd, &authkey, &store, &stop] { serve_client(fd, authkey, store, stop); });
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        braid::wait_readable(listen_fd);
      } else if (errno == EMFILE || errno == ENFILE) {
        braid::sleep(std::chrono::milliseconds(50));  // back off, keep serving
      } else {
        throw_errno("manager: accept");
      }
    }
  });
  stop.wait();
  acceptor.kill();
}

std::string encode_timeout(std::optional<Duration> timeout) {
  const std::int64_t ns =
      timeout ? std::max<std::int64_t>(
                    0, std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count())
              : -1;
  return encode_blob(ns);
}

std::optional<Duration> decode_timeout(const std::string& blob) {
  const auto ns = decode_blob<std::int64_t>(blob);
  if (ns < 0) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ns));
}

ManagerClient::ManagerClient(std::string address, std::string authkey)
    : address_(std::move(address)), authkey_(std::move(authkey)) {}

ManagerClient::~ManagerClient() {
  if (pid_ != ::getpid()) return;  // inherited: the parent's to close
  for (const int fd : idle_) ::close(fd);
}

int ManagerClient::connect() {
  const sockaddr_un sa = unix_address(address_);
  braid::detail::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("manager: socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) {
    throw std::system_error(errno, std::generic_category(), "manager: connect " + address_);
  }
  set_nonblocking(fd.get());
  write_frame(fd.get(),
              encode_frame({reinterpret_cast<const std::byte*>(authkey_.data()), authkey_.size()}));
  try {
    (void)decode_value<ManagerReply>(read_frame(fd.get()));
  } catch (const EOFError&) {
    throw ManagerError("manager at " + address_ + " refused the authentication key");
  }
  return fd.release();
}

int ManagerClient::take() {
  if (pid_ != ::getpid()) {
    // Connections inherited from the parent are not ours to use: our copies are closed,
    // the parent keeps its own.
    for (const int fd : idle_) ::close(fd);
    idle_.clear();
    pid_ = ::getpid();
  }
  if (idle_.empty()) return connect();
  const int fd = idle_.back();
  idle_.pop_back();
  return fd;
}

ManagerReply ManagerClient::call(const ManagerRequest& req) {
  Hub::current().cooperate();  // a fast manager's reply may be there before we wait
  // Killed, timed out or failed mid-call, the stream may be out of step: the owner closes
  // it rather than reusing it.
  braid::detail::UniqueFd fd(take());
  write_frame(fd.get(), encode_value_frame(req));
  const auto frame = read_frame(fd.get());
  ManagerReply reply;
  try {
    reply = decode_value<ManagerReply>(frame);
  } catch (const FrameError& e) {  // the stream is out of step: `fd` closes
    throw ManagerError(fmt::format("manager at {}: malformed reply to operation {}: {}", address_,
                                   static_cast<std::uint32_t>(req.op), e.what()));
  }
  idle_.push_back(fd.release());
  if (const auto* failure = std::get_if<ManagerFailure>(&reply)) {
    switch (failure->kind) {
      case ManagerErrorKind::queue_empty:
        throw QueueEmpty("manager: " + failure->message);
      case ManagerErrorKind::queue_full:
        throw QueueFull("manager: " + failure->message);
      case ManagerErrorKind::error:
        break;
    }
    throw ManagerError("manager: " + failure->message);
  }
  return reply;
}

void throw_unexpected_reply(const std::string& address, ManagerOp op, std::size_t expected,
                            const ManagerReply& got) {
  static constexpr std::array<std::string_view, std::variant_size_v<ManagerReply>> kNames{
      "no result", "a flag", "a count", "a value", "a list of values", "a failure"};
  const auto name = [](std::size_t i) {
    return i < kNames.size() ? kNames[i] : std::string_view("an unknown reply");
  };
  throw ManagerError(
      fmt::format("manager at {}: malformed reply to operation {}: expected {}, got {}", address,
                  static_cast<std::uint32_t>(op), name(expected), name(got.index())));
}

}  // namespace detail

Manager::Manager(ManagerOptions o)
    : address_(std::move(o.address)), authkey_(std::move(o.authkey)) {
  if (authkey_.empty()) {
    authkey_.resize(32);
    if (::getrandom(authkey_.data(), authkey_.size(), 0) != 32) {
      throw std::system_error(errno, std::generic_category(), "manager: getrandom");
    }
  }
  if (address_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp != nullptr ? tmp : "/tmp") + "/braid-manager-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) detail::throw_errno("manager: mkdtemp");
    dir_ = templ;
    address_ = std::string(detail::kUnixScheme) + dir_ + "/socket";
  }
  // Bound and listening before the fork, so clients can connect at once.
  const sockaddr_un sa = detail::unix_address(address_);
  const braid::detail::UniqueFd lfd(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!lfd) detail::throw_errno("manager: socket");
  if (::bind(lfd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0 ||
      ::listen(lfd.get(), 128) < 0) {
    throw std::system_error(errno, std::generic_category(), "manager: listen on " + address_);
  }
  static unsigned counter = 0;
  ProcessOptions po;
  po.name = "SyncManager-" + std::to_string(++counter);
  po.daemon = true;
  server_ = std::make_unique<Process>(
      po, [lfd = lfd.get(), key = authkey_] { detail::serve_manager(lfd, key); });
  server_->start();  // the child has its copy of lfd now; ours closes on scope exit
  owner_pid_ = ::getpid();
  client_ = std::make_shared<detail::ManagerClient>(address_, authkey_);
}

Manager::~Manager() { shutdown(); }

std::uint64_t Manager::create(detail::ManagerOp op, std::vector<std::string> args) {
  return client_->call_as<detail::ManagerCount>({op, 0, std::move(args)}).value;
}

void Manager::shutdown() noexcept {
  if (!server_ || owner_pid_ != ::getpid()) return;
  try {
    if (server_->is_alive()) {
      detail::ManagerClient c(address_, authkey_);
      c.call({detail::ManagerOp::shutdown, 0, {}});
      if (!server_->join(std::chrono::seconds(2))) {
        server_->kill();
        server_->join();
      }
    }
  } catch (const std::exception& e) {
    braid::detail::log().warn("manager: shutdown: {}", e.what());
    server_->kill();
    try {
      server_->join(std::chrono::seconds(5));
    } catch (...) {
    }
  }
  if (!dir_.empty()) {
    ::unlink(detail::unix_address(address_).sun_path);
    ::rmdir(dir_.c_str());
  }
  server_.reset();
}

}  // namespace braid::process
