// braid::process::Manager: a server process holding shared containers (dict and list),
// and proxies through which any process reads and changes them (Python's
// multiprocessing.Manager().dict() / .list()).
//
// Transport: each proxy call is one request frame and one reply frame (detail/frame.hpp)
// on a stream socket to the server. The address names the transport: "unix:<path>" (the
// default: a socket in a fresh 0700 directory) — the parser leaves room for "tcp:host:port"
// later. A connection starts with the client sending the manager's authentication key,
// which the server compares before serving anything else; over TCP this must become an
// HMAC challenge-response (as Python's managers do) so the key never travels in clear.
// Every process opens its own connection on first use (a proxy copied into a child
// reconnects there), and calls from coroutines of one process take turns on it.
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
#include <utility>
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

struct ManagerReply {
  bool ok = true;
  std::string error;
  std::vector<std::string> values;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(ok, error, values);
  }
};

/// A client's connection to the server, one per process (reconnects after fork).
class ManagerClient {
 public:
  ManagerClient(std::string address, std::string authkey);
  ~ManagerClient();
  ManagerClient(const ManagerClient&) = delete;
  ManagerClient& operator=(const ManagerClient&) = delete;
  /// One request, one reply. ManagerError for a failure reported by the server.
  ManagerReply call(const ManagerRequest& req);

 private:
  void connect();

  std::string address_;
  std::string authkey_;
  int fd_ = -1;
  pid_t pid_ = 0;               // process that opened fd_
  std::shared_ptr<void> turn_;  // braid::Lock: one call at a time in this process
};

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

/// Serves a Manager's containers on `listen_fd` until told to shut down (in the server).
void serve_manager(int listen_fd, const std::string& authkey);

}  // namespace detail

/// A proxy for a dict<K, V> held by a Manager. Copyable; copies name the same dict.
template <class K, class V>
class DictProxy {
 public:
  DictProxy(std::shared_ptr<detail::ManagerClient> c, std::uint64_t id)
      : c_(std::move(c)), id_(id) {}

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
    return detail::decode_blob<V>(call(detail::ManagerOp::dict_get, {detail::encode_blob(k)})[0]);
  }
  std::optional<V> find(const K& k) {
    if (!contains(k)) return std::nullopt;
    return get(k);
  }
  bool contains(const K& k) {
    return call(detail::ManagerOp::dict_contains, {detail::encode_blob(k)})[0] == "1";
  }
  /// True when the key was there.
  bool erase(const K& k) {
    return call(detail::ManagerOp::dict_erase, {detail::encode_blob(k)})[0] == "1";
  }
  std::size_t size() { return std::stoull(call(detail::ManagerOp::dict_size, {})[0]); }
  void clear() { call(detail::ManagerOp::dict_clear, {}); }
  /// A snapshot in insertion order.
  std::vector<std::pair<K, V>> items() {
    const auto v = call(detail::ManagerOp::dict_items, {});
    std::vector<std::pair<K, V>> out;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      out.emplace_back(detail::decode_blob<K>(v[i]), detail::decode_blob<V>(v[i + 1]));
    }
    return out;
  }

 private:
  std::vector<std::string> call(detail::ManagerOp op, std::vector<std::string> args) {
    return c_->call({op, id_, std::move(args)}).values;
  }
  std::shared_ptr<detail::ManagerClient> c_;
  std::uint64_t id_;
};

/// A proxy for a list<T> held by a Manager. Copyable; copies name the same list.
template <class T>
class ListProxy {
 public:
  ListProxy(std::shared_ptr<detail::ManagerClient> c, std::uint64_t id)
      : c_(std::move(c)), id_(id) {}

  void append(const T& v) { call(detail::ManagerOp::list_append, {detail::encode_blob(v)}); }
  /// Python-style index: negative counts from the end. ManagerError when out of range.
  T get(std::int64_t i) {
    return detail::decode_blob<T>(call(detail::ManagerOp::list_get, {detail::encode_blob(i)})[0]);
  }
  void set(std::int64_t i, const T& v) {
    call(detail::ManagerOp::list_set, {detail::encode_blob(i), detail::encode_blob(v)});
  }
  T pop(std::int64_t i = -1) {
    return detail::decode_blob<T>(call(detail::ManagerOp::list_pop, {detail::encode_blob(i)})[0]);
  }
  std::size_t size() { return std::stoull(call(detail::ManagerOp::list_size, {})[0]); }
  void clear() { call(detail::ManagerOp::list_clear, {}); }
  /// A snapshot.
  std::vector<T> items() {
    std::vector<T> out;
    for (const auto& b : call(detail::ManagerOp::list_items, {})) {
      out.push_back(detail::decode_blob<T>(b));
    }
    return out;
  }

 private:
  std::vector<std::string> call(detail::ManagerOp op, std::vector<std::string> args) {
    return c_->call({op, id_, std::move(args)}).values;
  }
  std::shared_ptr<detail::ManagerClient> c_;
  std::uint64_t id_;
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
  /// Stops the server (its containers are gone) and waits for it; idempotent.
  void shutdown() noexcept;
  const std::string& address() const noexcept { return address_; }
  pid_t pid() const noexcept { return server_ ? server_->pid() : 0; }

 private:
  std::uint64_t create(detail::ManagerOp op);

  std::string address_;
  std::string dir_;  // the private directory of the default socket, removed at shutdown
  std::string authkey_;
  std::unique_ptr<Process> server_;
  std::shared_ptr<detail::ManagerClient> client_;
  pid_t owner_pid_ = 0;  // only the creating process shuts the server down
};

}  // namespace braid::process
