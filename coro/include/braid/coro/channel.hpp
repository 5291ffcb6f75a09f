// Channel: a rendezvous between coroutines of one hub (gevent.queue.Channel, a queue of
// maxsize 0). put() parks until a getter takes the item; get() parks until a putter
// offers one. Nothing is stored: an item passes from one coroutine's hands to another's.
#pragma once

#include <braid/coro/queue.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace braid {

/// gevent.queue.Channel. Putters and getters are each served first come, first served.
/// An item is taken exactly when put() returns normally: a put that times out, is
/// killed or is woken by shutdown() keeps its item.
template <class T>
class Channel {
 public:
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  /// Coroutines still parked on the channel are woken with QueueShutDown.
  ~Channel() { shutdown(); }

  /// Hands `v` to a getter, parking until one takes it. QueueFull when no getter came
  /// within `timeout` (gevent raises Full); QueueShutDown once the channel is shut down.
  void put(T v, std::optional<Duration> timeout = {});
  /// Takes an item from a putter, parking until one offers it. QueueEmpty when none came
  /// within `timeout`; QueueShutDown once the channel is shut down and no putter waits.
  T get(std::optional<Duration> timeout = {});
  /// Hands `v` to a getter parked now; false when none is. QueueShutDown once shut down.
  bool try_put(T v);
  /// Takes the item of a putter parked now; nullopt when none is. QueueShutDown once
  /// shut down.
  std::optional<T> try_get();

  /// As Queue::shutdown: put() fails with QueueShutDown from now on, and every parked
  /// putter and getter is woken with it (putters keep their items). A Channel holds no
  /// items, so `immediate` changes nothing; it is there for code written for both.
  void shutdown(bool immediate = false);
  bool is_shutdown() const noexcept { return shutdown_; }

  /// gevent's Channel.balance: parked putters minus parked getters.
  std::ptrdiff_t balance() const noexcept {
    return static_cast<std::ptrdiff_t>(putters_.size()) -
           static_cast<std::ptrdiff_t>(getters_.size());
  }
  /// As gevent's Channel: it holds nothing, so it is always empty and always full.
  std::size_t size() const noexcept { return 0; }
  bool empty() const noexcept { return true; }
  bool full() const noexcept { return true; }

 private:
  bool hand_to_getter(T& v);
  std::optional<T> take_from_putter();
  void throw_if_shut(const char* what) const;

  bool shutdown_ = false;
  detail::WaitQueue getters_;  // slot: detail::GetSlot<T>* (never a peeker)
  detail::WaitQueue putters_;  // slot: detail::PutSlot<T>*
};

template <class T>
void Channel<T>::throw_if_shut(const char* what) const {
  if (shutdown_) throw QueueShutDown(std::string(what) + ": the channel is shut down");
}

template <class T>
bool Channel<T>::hand_to_getter(T& v) {
  detail::Waiter* g = getters_.front();
  if (g == nullptr) return false;
  static_cast<detail::GetSlot<T>*>(g->slot)->out->emplace(std::move(v));
  getters_.notify_one();
  return true;
}

template <class T>
std::optional<T> Channel<T>::take_from_putter() {
  detail::Waiter* p = putters_.front();
  if (p == nullptr) return std::nullopt;
  auto* slot = static_cast<detail::PutSlot<T>*>(p->slot);
  std::optional<T> v(std::move(*slot->item));
  slot->taken = true;
  putters_.notify_one();
  return v;
}

template <class T>
void Channel<T>::put(T v, std::optional<Duration> timeout) {
  throw_if_shut("Channel.put");
  if (!getters_.empty()) {
    detail::Scheduling::check_interrupt(
        Hub::current());  // a pending kill or timeout still takes effect
    hand_to_getter(v);
    return;
  }
  detail::PutSlot<T> slot{&v};
  if (!putters_.wait(timeout, detail::WaitInfo{"Channel.put"}, &slot)) {
    throw QueueFull("Channel.put: no getter came within " + detail::format_duration(*timeout));
  }
  if (!slot.taken) {
    throw QueueShutDown("Channel.put: the channel was shut down while put() waited");
  }
}

template <class T>
T Channel<T>::get(std::optional<Duration> timeout) {
  throw_if_shut("Channel.get");
  if (!putters_.empty()) {
    detail::Scheduling::check_interrupt(Hub::current());
    return std::move(*take_from_putter());
  }
  std::optional<T> out;
  detail::GetSlot<T> slot{&out};
  if (!getters_.wait(timeout, detail::WaitInfo{"Channel.get"}, &slot)) {
    throw QueueEmpty("Channel.get: no putter came within " + detail::format_duration(*timeout));
  }
  if (!out) throw QueueShutDown("Channel.get: the channel was shut down while get() waited");
  return std::move(*out);
}

template <class T>
bool Channel<T>::try_put(T v) {
  throw_if_shut("Channel.try_put");
  return hand_to_getter(v);
}

template <class T>
std::optional<T> Channel<T>::try_get() {
  throw_if_shut("Channel.try_get");
  return take_from_putter();
}

template <class T>
void Channel<T>::shutdown(bool /*immediate*/) {
  shutdown_ = true;
  getters_.notify_all();  // slots left empty: QueueShutDown
  putters_.notify_all();  // items not taken: QueueShutDown
}

}  // namespace braid
