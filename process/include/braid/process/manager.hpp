// braid::process::Manager: a server process holding shared objects (dict, list,
// namespace, value, queue, lock, event), and proxies through which any process reads and
// changes them (Python's multiprocessing.Manager().dict() / .list() / .Namespace() /
// .Value() / .Queue() / .Lock() / .Event()).
//
// Transport: each proxy call is one request frame and one reply frame (detail/frame.hpp)
// on a stream socket to the server. A reply is typed (detail::ManagerReply, a cereal
// variant: no result, a flag, a count, one value, several values, or a failure), so a
// reply of another kind than the call expects, or one that does not decode, is a
// ManagerError naming the manager, the operation and both kinds. The address names the transport: "unix:<path>" (the
// default: a socket in a fresh 0700 directory) — the parser leaves room for "tcp:host:port"
// later. A connection starts with the client sending the manager's authentication key,
// which the server compares before serving anything else; over TCP this must become an
// HMAC challenge-response (as Python's managers do) so the key never travels in clear.
// Every process opens its own connections on first use (a proxy copied into a child
// reconnects there): one per call in flight, kept for reuse, so a coroutine parked in a
// blocking call (Queue get, Lock acquire, Event wait) never holds up another coroutine of
// its process, which may be the one that would unblock it.
//
// Blocking calls park on the server, in the coroutine serving that connection, which
// watches the connection meanwhile: a client killed (or timed out by an enclosing
// braid::Timeout) during one closes its connection, and the server then cancels the
// call, so a get() that was abandoned takes no item and an abandoned acquire() leaves no
// lock held. A lock held by a client that dies stays held (as in Python).
//
// The server stores keys and values as their cereal encodings: it needs no knowledge of
// the C++ types, and two keys are the same key when their encodings are equal (true for
// arithmetic types, strings and containers of them). Dicts keep insertion order.
//
// What may switch: every proxy call parks the calling coroutine until the reply arrives;
// the Manager constructor forks the server (no parking); shutdown() parks while the
// server exits.
#pragma once

#include <braid/process/detail/frame.hpp>
#include <braid/process/process.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace braid::process {

/// A Manager call failed on the server's side (unknown key, index out of range, ...).
/// The message is the server's.
struct ManagerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Where a Manager listens and the key clients must present.
struct ManagerOptions {
  /// "unix:<path>"; empty: a fresh socket in a private temporary directory.
  std::string address;
  /// Empty: 32 random bytes.
  std::string authkey;
};

namespace detail {

enum class ManagerOp : std::uint32_t {
  new_dict = 1,
  new_list,
  dict_set,
  dict_get,
  dict_erase,
  dict_contains,
  dict_size,
  dict_items,
  dict_clear,
  list_append,
  list_get,
  list_set,
  list_size,
  list_items,
  list_pop,
  list_clear,
  shutdown,
  new_namespace,  // a Dict whose keys are attribute names
  new_value,      // a List of one element
  new_queue,
  queue_put,
  queue_get,
  queue_size,
  queue_full,
  new_lock,
  lock_acquire,
  lock_release,
  lock_locked,
  new_event,
  event_set,
  event_clear,
  event_is_set,
  event_wait,
};

/// Why a reply failed, for the client to throw the matching exception.
enum class ManagerErrorKind : std::uint32_t {
  error = 0,  // ManagerError
  queue_empty,
  queue_full,
};

struct ManagerRequest {
  ManagerOp op{};
  std::uint64_t id = 0;           // container
  std::vector<std::string> args;  // encoded keys, values, indices
  template <class Ar>
  void serialize(Ar& ar) {
    ar(op, id, args);
  }
};

// A reply is one of these typed results (a cereal-encoded std::variant), so each call
// states what it answers and a reply of the wrong kind is a clear error, not a misread.
/// A call with no result (a set, a clear, an append; the authentication handshake).
struct ManagerDone {
  template <class Ar>
  void serialize(Ar&) {}
};
/// A yes/no answer: contains, erase, full, acquire, locked, is_set, wait.
struct ManagerFlag {
  bool value = false;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(value);
  }
};
/// A number: a size, or the id of a new container.
struct ManagerCount {
  std::uint64_t value = 0;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(value);
  }
};
/// One encoded key or value (encode_blob).
struct ManagerBlob {
  std::string value;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(value);
  }
};
/// Encoded values in order: a list's items, or a dict's keys and values alternating.
struct ManagerBlobs {
  std::vector<std::string> values;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(values);
  }
};
/// The call failed on the server; `message` says why.
struct ManagerFailure {
  ManagerErrorKind kind = ManagerErrorKind::error;
  std::string message;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(kind, message);
  }
};
using ManagerReply =
    std::variant<ManagerDone, ManagerFlag, ManagerCount, ManagerBlob, ManagerBlobs, ManagerFailure>;

/// ManagerError "manager at <address>: malformed reply to operation <op>: expected <what
/// `expected` names>, got <what `got` holds>".
[[noreturn]] void throw_unexpected_reply(const std::string& address, ManagerOp op,
                                         std::size_t expected, const ManagerReply& got);

/// A client's connections to the server: per process (reconnects after fork), one per
/// call in flight, idle ones kept for the next calls.
class ManagerClient {
 public:
  ManagerClient(std::string address, std::string authkey);
  ~ManagerClient();
  ManagerClient(const ManagerClient&) = delete;
  ManagerClient& operator=(const ManagerClient&) = delete;
  /// One request, one reply. ManagerError for a failure reported by the server or a
  /// reply that does not decode; braid::QueueEmpty / QueueFull for a queue's timeout.
  ManagerReply call(const ManagerRequest& req);
  /// call(), expecting a reply of type R (ManagerDone, ManagerFlag, ...): ManagerError
  /// for any other.
  template <class R>
  R call_as(const ManagerRequest& req) {
    ManagerReply reply = call(req);
    if (R* r = std::get_if<R>(&reply)) return std::move(*r);
    throw_unexpected_reply(address_, req.op, variant_index<R>(), reply);
  }
  /// Connections open in this process, idle now (for tests).
  std::size_t idle_connections() const noexcept { return idle_.size(); }

 private:
  int connect();  // a new authenticated connection
  int take();     // an idle connection of this process, or a new one

  template <class R, std::size_t I = 0>
  static constexpr std::size_t variant_index() {
    if constexpr (std::is_same_v<std::variant_alternative_t<I, ManagerReply>, R>) {
      return I;
    } else {
      return variant_index<R, I + 1>();
    }
  }

  std::string address_;
  std::string authkey_;
  std::vector<int> idle_;  // connections of process pid_, no call in flight
  pid_t pid_ = 0;
};

/// A timeout as a request argument: nanoseconds, -1 for none.
std::string encode_timeout(std::optional<Duration> timeout);
std::optional<Duration> decode_timeout(const std::string& blob);

template <class T>
std::string encode_blob(const T& v) {
  std::vector<std::byte> out;
  serialize_into(out, v);
  return {reinterpret_cast<const char*>(out.data()), out.size()};
}

template <class T>
T decode_blob(const std::string& s) {
  return decode_value<T>({reinterpret_cast<const std::byte*>(s.data()), s.size()});
}

/// What every proxy holds: the client and the object's id on the server.
class ProxyBase {
 public:
  ProxyBase(std::shared_ptr<ManagerClient> c, std::uint64_t id) : c_(std::move(c)), id_(id) {}

 protected:
  /// One call on this object, by what it answers: nothing, a flag, a count, one
  /// encoded value, or several.
  void call(ManagerOp op, std::vector<std::string> args) const {
    (void)c_->call_as<ManagerDone>({op, id_, std::move(args)});
  }
  bool call_flag(ManagerOp op, std::vector<std::string> args) const {
    return c_->call_as<ManagerFlag>({op, id_, std::move(args)}).value;
  }
  std::size_t call_count(ManagerOp op, std::vector<std::string> args) const {
    return static_cast<std::size_t>(c_->call_as<ManagerCount>({op, id_, std::move(args)}).value);
  }
  std::string call_blob(ManagerOp op, std::vector<std::string> args) const {
    return std::move(c_->call_as<ManagerBlob>({op, id_, std::move(args)}).value);
  }
  std::vector<std::string> call_blobs(ManagerOp op, std::vector<std::string> args) const {
    return std::move(c_->call_as<ManagerBlobs>({op, id_, std::move(args)}).values);
  }

 private:
  std::shared_ptr<ManagerClient> c_;
  std::uint64_t id_;
};

/// Serves a Manager's containers on `listen_fd` until told to shut down (in the server).
void serve_manager(int listen_fd, const std::string& authkey);

}  // namespace detail

/// A proxy for a dict<K, V> held by a Manager. Copyable; copies name the same dict.
template <class K, class V>
class DictProxy : public detail::ProxyBase {
 public:
  using detail::ProxyBase::ProxyBase;

  /// d[k] = v / V v = d[k] (ManagerError for a missing key, as Python's KeyError).
  class ItemRef {
   public:
    ItemRef(DictProxy& d, K k) : d_(d), k_(std::move(k)) {}
    ItemRef& operator=(const V& v) {
      d_.set(k_, v);
      return *this;
    }
    operator V() const { return d_.get(k_); }

   private:
    DictProxy& d_;
    K k_;
  };
  ItemRef operator[](const K& k) { return ItemRef(*this, k); }

  void set(const K& k, const V& v) {
    call(detail::ManagerOp::dict_set, {detail::encode_blob(k), detail::encode_blob(v)});
  }
  V get(const K& k) {
    return detail::decode_blob<V>(call_blob(detail::ManagerOp::dict_get, {detail::encode_blob(k)}));
  }
  std::optional<V> find(const K& k) {
    if (!contains(k)) return std::nullopt;
    return get(k);
  }
  bool contains(const K& k) {
    return call_flag(detail::ManagerOp::dict_contains, {detail::encode_blob(k)});
  }
  /// True when the key was there.
  bool erase(const K& k) {
    return call_flag(detail::ManagerOp::dict_erase, {detail::encode_blob(k)});
  }
  std::size_t size() { return call_count(detail::ManagerOp::dict_size, {}); }
  void clear() { call(detail::ManagerOp::dict_clear, {}); }
  /// A snapshot in insertion order.
  std::vector<std::pair<K, V>> items() {
    const auto v = call_blobs(detail::ManagerOp::dict_items, {});
    std::vector<std::pair<K, V>> out;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      out.emplace_back(detail::decode_blob<K>(v[i]), detail::decode_blob<V>(v[i + 1]));
    }
    return out;
  }
};

/// A proxy for a list<T> held by a Manager. Copyable; copies name the same list.
template <class T>
class ListProxy : public detail::ProxyBase {
 public:
  using detail::ProxyBase::ProxyBase;

  void append(const T& v) { call(detail::ManagerOp::list_append, {detail::encode_blob(v)}); }
  /// Python-style index: negative counts from the end. ManagerError when out of range.
  T get(std::int64_t i) {
    return detail::decode_blob<T>(call_blob(detail::ManagerOp::list_get, {detail::encode_blob(i)}));
  }
  void set(std::int64_t i, const T& v) {
    call(detail::ManagerOp::list_set, {detail::encode_blob(i), detail::encode_blob(v)});
  }
  T pop(std::int64_t i = -1) {
    return detail::decode_blob<T>(call_blob(detail::ManagerOp::list_pop, {detail::encode_blob(i)}));
  }
  std::size_t size() { return call_count(detail::ManagerOp::list_size, {}); }
  void clear() { call(detail::ManagerOp::list_clear, {}); }
  /// A snapshot.
  std::vector<T> items() {
    std::vector<T> out;
    for (const auto& b : call_blobs(detail::ManagerOp::list_items, {})) {
      out.push_back(detail::decode_blob<T>(b));
    }
    return out;
  }
};

/// A proxy for a Namespace held by a Manager: named attributes of any (cereal) type
/// (Python's manager.Namespace(): ns.x = 1 is ns.set("x", 1), ns.x is ns.get<int>("x")).
/// Copyable; copies name the same namespace.
class NamespaceProxy : public detail::ProxyBase {
 public:
  using detail::ProxyBase::ProxyBase;

  template <class T>
  void set(const std::string& name, const T& v) {
    call(detail::ManagerOp::dict_set, {detail::encode_blob(name), detail::encode_blob(v)});
  }
  /// ManagerError when there is no such attribute (Python's AttributeError), FrameError
  /// when it is not a T.
  template <class T>
  T get(const std::string& name) {
    return detail::decode_blob<T>(
        call_blob(detail::ManagerOp::dict_get, {detail::encode_blob(name)}));
  }
  bool contains(const std::string& name) {
    return call_flag(detail::ManagerOp::dict_contains, {detail::encode_blob(name)});
  }
  /// del ns.x: true when it was there.
  bool erase(const std::string& name) {
    return call_flag(detail::ManagerOp::dict_erase, {detail::encode_blob(name)});
  }
  /// The attribute names, in the order they were first set.
  std::vector<std::string> names() {
    const auto v = call_blobs(detail::ManagerOp::dict_items, {});
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.size(); i += 2) {
      out.push_back(detail::decode_blob<std::string>(v[i]));
    }
    return out;
  }
};

/// A proxy for one value held by a Manager (Python's manager.Value(typecode, v): v.value
/// is get(), v.value = x is set(x)). Copyable; copies name the same value.
template <class T>
class ValueProxy : public detail::ProxyBase {
 public:
  using detail::ProxyBase::ProxyBase;
  T get() {
    return detail::decode_blob<T>(
        call_blob(detail::ManagerOp::list_get, {detail::encode_blob(std::int64_t{0})}));
  }
  void set(const T& v) {
    call(detail::ManagerOp::list_set,
         {detail::encode_blob(std::int64_t{0}), detail::encode_blob(v)});
  }
};

/// A proxy for a FIFO queue held by a Manager (Python's manager.Queue(maxsize)). Blocking
/// calls park on the server (see the file comment). Copyable; copies name the same queue.
template <class T>
class QueueProxy : public detail::ProxyBase {
 public:
  using detail::ProxyBase::ProxyBase;
  /// Parks while full; braid::QueueFull when `timeout` elapsed first.
  void put(const T& v, std::optional<Duration> timeout = {}) {
    call(detail::ManagerOp::queue_put,
         {detail::encode_blob(v), detail::encode_timeout(timeout), "1"});
  }
  /// Parks while empty; braid::QueueEmpty when `timeout` elapsed first.
  T get(std::optional<Duration> timeout = {}) {
    return detail::decode_blob<T>(
        call_blob(detail::ManagerOp::queue_get, {detail::encode_timeout(timeout), "1"}));
  }
  /// Without parking: QueueFull / QueueEmpty at once.
  void put_nowait(const T& v) {
    call(detail::ManagerOp::queue_put, {detail::encode_blob(v), detail::encode_timeout({}), "0"});
  }
  T get_nowait() {
    return detail::decode_blob<T>(
        call_blob(detail::ManagerOp::queue_get, {detail::encode_timeout({}), "0"}));
  }
  std::size_t qsize() { return call_count(detail::ManagerOp::queue_size, {}); }
  bool empty() { return qsize() == 0; }
  bool full() { return call_flag(detail::ManagerOp::queue_full, {}); }
};

/// A proxy for a lock held by a Manager (Python's manager.Lock()): not owned, any process
/// may release it; usable with std::lock_guard. Copyable; copies name the same lock.
class LockProxy : public detail::ProxyBase {
 public:
  using detail::ProxyBase::ProxyBase;
  /// Parks until held (true) or `timeout` elapsed (false).
  bool acquire(std::optional<Duration> timeout = {}) {
    return call_flag(detail::ManagerOp::lock_acquire, {detail::encode_timeout(timeout), "1"});
  }
  bool try_lock() {
    return call_flag(detail::ManagerOp::lock_acquire, {detail::encode_timeout({}), "0"});
  }
  /// ManagerError when it is not locked (Python's RuntimeError).
  void release() { call(detail::ManagerOp::lock_release, {}); }
  void lock() { acquire(); }
  void unlock() { release(); }
  bool locked() { return call_flag(detail::ManagerOp::lock_locked, {}); }
};

/// A proxy for an event held by a Manager (Python's manager.Event()). Copyable; copies
/// name the same event.
class EventProxy : public detail::ProxyBase {
 public:
  using detail::ProxyBase::ProxyBase;
  void set() { call(detail::ManagerOp::event_set, {}); }
  void clear() { call(detail::ManagerOp::event_clear, {}); }
  bool is_set() { return call_flag(detail::ManagerOp::event_is_set, {}); }
  /// Parks until set (true) or `timeout` elapsed (false).
  bool wait(std::optional<Duration> timeout = {}) {
    return call_flag(detail::ManagerOp::event_wait, {detail::encode_timeout(timeout)});
  }
};

/// Starts a server process (a daemon child named "SyncManager-N") that holds containers.
/// Create it, and the containers, before starting the processes that use them (or pass
/// the proxies to processes started later: they connect on first use).
///
/// @par Example
/// @code
///   braid::process::Manager manager;
///   auto d = manager.dict<int, int>();
///   braid::process::Process p([](auto d) { d[getpid()] = getpid(); }, d);
///   p.start(); p.join();
///   for (auto [k, v] : d.items()) std::printf("%d: %d\n", k, v);
/// @endcode
class Manager {
 public:
  explicit Manager(ManagerOptions o = {});
  /// shutdown().
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  template <class K, class V>
  DictProxy<K, V> dict() {
    return DictProxy<K, V>(client_, create(detail::ManagerOp::new_dict));
  }
  template <class T>
  ListProxy<T> list() {
    return ListProxy<T>(client_, create(detail::ManagerOp::new_list));
  }
  /// Python's manager.Namespace().
  NamespaceProxy make_namespace() {
    return NamespaceProxy(client_, create(detail::ManagerOp::new_namespace));
  }
  /// Python's manager.Value(typecode, v).
  template <class T>
  ValueProxy<T> value(const T& v) {
    return ValueProxy<T>(client_, create(detail::ManagerOp::new_value, {detail::encode_blob(v)}));
  }
  /// Python's manager.Queue(maxsize); 0: no limit.
  template <class T>
  QueueProxy<T> queue(std::size_t maxsize = 0) {
    return QueueProxy<T>(client_, create(detail::ManagerOp::new_queue,
                                         {detail::encode_blob(std::uint64_t{maxsize})}));
  }
  /// Python's manager.Lock() / manager.Event().
  LockProxy lock() { return LockProxy(client_, create(detail::ManagerOp::new_lock)); }
  EventProxy event() { return EventProxy(client_, create(detail::ManagerOp::new_event)); }
  /// Stops the server (its containers are gone) and waits for it; idempotent.
  void shutdown() noexcept;
  const std::string& address() const noexcept { return address_; }
  pid_t pid() const noexcept { return server_ ? server_->pid() : 0; }

 private:
  std::uint64_t create(detail::ManagerOp op, std::vector<std::string> args = {});

  std::string address_;
  std::string dir_;  // the private directory of the default socket, removed at shutdown
  std::string authkey_;
  std::unique_ptr<Process> server_;
  std::shared_ptr<detail::ManagerClient> client_;
  pid_t owner_pid_ = 0;  // only the creating process shuts the server down
};

}  // namespace braid::process
