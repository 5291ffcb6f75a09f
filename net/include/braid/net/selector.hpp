// BasicSelector: Python's selectors.DefaultSelector — register descriptors with the
// events and the data (e.g. a callback) they stand for, then select() the ready ones.
#pragma once

#include <braid/net/detail/selector_checks.hpp>
#include <braid/runtime/detail/readiness_set.hpp>

#include <any>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace braid::net {

inline constexpr unsigned EVENT_READ = 1;   // readable (or EOF / error)
inline constexpr unsigned EVENT_WRITE = 2;  // writable (or error)
// The masks go to and come from the readiness set unchanged.
static_assert(EVENT_READ == braid::detail::ReadinessSet::readable &&
              EVENT_WRITE == braid::detail::ReadinessSet::writable);

/// A readiness selector over descriptors, backed by a readiness set of its own (on
/// Linux a private epoll set). `select()`
/// parks only the calling coroutine (in `main`, it runs the hub meanwhile). Keys stay
/// valid until unregistered; a key unregistered while the results of select() are being
/// handled (a callback unregistering its own descriptor) stays alive until the next
/// select(), so `key->data(key->fd, mask)` may unregister or close itself safely.
/// Non-copyable, movable.
/// @par Example
/// @code
///   braid::net::BasicSelector<std::function<void(int, unsigned)>> sel;
///   sel.register_fd(listener.native_handle(), braid::net::EVENT_READ, on_accept);
///   for (;;)
///     for (auto& [key, mask] : sel.select()) key->data(key->fd, mask);
/// @endcode
template <class Data = std::any>
class BasicSelector {
 public:
  struct Key {
    int fd;           // the registered descriptor
    unsigned events;  // EVENT_READ | EVENT_WRITE it waits for
    Data data;        // what the caller attached
  };

  BasicSelector() = default;
  BasicSelector(BasicSelector&&) noexcept = default;
  BasicSelector& operator=(BasicSelector&&) noexcept = default;

  /// Starts watching `fd`.
  /// @throws std::invalid_argument  negative fd, or events not a non-empty mix of
  ///                                EVENT_READ/EVENT_WRITE.
  /// @throws std::logic_error       `fd` is already registered.
  /// @throws std::system_error      `fd` is not open (EBADF) or cannot be watched
  ///                                (EPERM: a regular file).
  const Key& register_fd(int fd, unsigned events, Data data = {}) {
    detail::check_fd(fd, "register_fd");
    detail::check_events(events);
    if (keys_.count(fd) != 0) {
      throw std::logic_error("register_fd: fd " + std::to_string(fd) + " is already registered");
    }
    set_.add(fd, events, "register_fd");
    auto key = std::make_unique<Key>(Key{fd, events, std::move(data)});
    return *keys_.emplace(fd, std::move(key)).first->second;
  }
  /// Changes the events and data of a registered `fd` (the key object is replaced).
  /// @throws std::logic_error  `fd` is not registered.
  const Key& modify(int fd, unsigned events, Data data = {}) {
    detail::check_events(events);
    auto it = find(fd, "modify");
    if (events != it->second->events) set_.modify(fd, events, "modify");
    retired_.push_back(std::move(it->second));
    it->second = std::make_unique<Key>(Key{fd, events, std::move(data)});
    return *it->second;
  }
  /// Stops watching `fd` (which may already be closed).
  /// @throws std::logic_error  `fd` is not registered.
  void unregister(int fd) {
    auto it = find(fd, "unregister");
    set_.remove(fd);
    retired_.push_back(std::move(it->second));
    keys_.erase(it);
  }
  /// Waits until registered descriptors are ready, or `timeout` passes (then the result
  /// is empty; Duration::zero() = just poll). Returns each ready key with the ready
  /// subset of its events. @throws TimeoutError when an enclosing Timeout fires.
  std::vector<std::pair<const Key*, unsigned>> select(std::optional<Duration> timeout = {}) {
    retired_.clear();
    std::vector<std::pair<const Key*, unsigned>> out;
    if (keys_.empty()) {
      // Python sleeps for the timeout here; waiting forever on nothing is LoopExit.
      set_.wait(timeout, 1, "select");
      return out;
    }
    for (auto [fd, mask] : set_.wait(timeout, keys_.size(), "select")) {
      auto it = keys_.find(fd);
      if (it == keys_.end()) continue;
      if (unsigned m = mask & it->second->events) out.emplace_back(it->second.get(), m);
    }
    return out;
  }
  /// The key of `fd`, or nullptr.
  const Key* get_key(int fd) const {
    auto it = keys_.find(fd);
    return it == keys_.end() ? nullptr : it->second.get();
  }
  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }
  /// Unregisters everything and closes the readiness set.
  void close() noexcept {
    keys_.clear();
    retired_.clear();
    set_.close();
  }

 private:
  using Map = std::unordered_map<int, std::unique_ptr<Key>>;
  typename Map::iterator find(int fd, const char* what) {
    auto it = keys_.find(fd);
    if (it == keys_.end()) {
      throw std::logic_error(std::string(what) + ": fd " + std::to_string(fd) +
                             " is not registered");
    }
    return it;
  }

  braid::detail::ReadinessSet set_;            // kernel side of the registrations
  Map keys_;                                   // registered descriptors
  std::vector<std::unique_ptr<Key>> retired_;  // unregistered since the last select()
};

using Selector = BasicSelector<>;
using DefaultSelector = Selector;

}  // namespace braid::net
