// Event and AsyncResult: one coroutine signals, any number wait (gevent.event).
#pragma once

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/wait_queue.hpp>
#include <braid/runtime/errors.hpp>

#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace braid {

/// A flag coroutines can wait for. set() wakes every waiter; clear() resets it.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// Sets the flag and wakes every waiter, in the order they started waiting.
  void set() noexcept {
    flag_ = true;
    while (detail::Waiter* w = waiters_.front()) {
      *static_cast<bool*>(w->slot) = true;  // the waiter's "woken by set()" flag
      ++waking_;
      waiters_.notify_one();
    }
  }
  void clear() noexcept { flag_ = false; }
  bool is_set() const noexcept { return flag_; }
  /// Parks until set (true) or until `timeout` elapsed (false). When already set it
  /// returns true, but not ahead of the waiters a set() has woken and that have not run
  /// yet: it yields to them first, so waiters return in the order they waited (as in
  /// gevent), a late caller last.
  /// @throws the parking-call errors (errors.hpp).
  bool wait(std::optional<Duration> timeout = {}) {
    if (flag_) {
      if (waking_ > 0 && !detail::Scheduling::in_hub_callback(Hub::current()))
        detail::Scheduling::yield(Hub::current());
      return true;
    }
    bool woken_by_set = false;
    struct Resumed {  // counts this waiter out of waking_ however it leaves
      Event& event;
      const bool& woken;
      ~Resumed() {
        if (woken) --event.waking_;
      }
    } resumed{*this, woken_by_set};
    return waiters_.wait(timeout, detail::WaitInfo{"Event.wait"}, &woken_by_set);
  }

 private:
  bool flag_ = false;
  std::size_t waking_ = 0;  // waiters set() has woken that have not resumed yet
  detail::WaitQueue waiters_;
};

/// A value (or exception) that will arrive later; waiters get it once set.
template <class T>
class AsyncResult {
 public:
  AsyncResult() = default;
  AsyncResult(const AsyncResult&) = delete;
  AsyncResult& operator=(const AsyncResult&) = delete;

  void set(T v) {
    value_.emplace(std::move(v));
    error_ = nullptr;
    waiters_.notify_all();
  }
  void set_exception(std::exception_ptr e) {
    error_ = std::move(e);
    value_.reset();
    waiters_.notify_all();
  }
  bool ready() const noexcept { return value_.has_value() || error_ != nullptr; }
  bool successful() const noexcept { return value_.has_value(); }
  /// Parks until ready; true when ready, false when `timeout` elapsed.
  /// @throws the parking-call errors (errors.hpp).
  bool wait(std::optional<Duration> timeout = {}) {
    if (ready()) return true;
    return waiters_.wait(timeout, detail::WaitInfo{"AsyncResult.wait"}) || ready();
  }
  /// The value, or rethrows the exception. TimeoutError when `timeout` elapses first.
  T get(std::optional<Duration> timeout = {}) {
    if (!wait(timeout)) {
      throw TimeoutError("AsyncResult.get: timed out after " + detail::format_duration(*timeout));
    }
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }

 private:
  std::optional<T> value_;
  std::exception_ptr error_;
  detail::WaitQueue waiters_;
};

}  // namespace braid
