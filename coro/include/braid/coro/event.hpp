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

  void set() noexcept {
    flag_ = true;
    waiters_.notify_all();
  }
  void clear() noexcept { flag_ = false; }
  bool is_set() const noexcept { return flag_; }
  /// Parks until set (true) or until `timeout` elapsed (false). True at once when set.
  bool wait(std::optional<Duration> timeout = {}) {
    if (flag_) return true;
    return waiters_.wait(timeout, detail::WaitInfo{"Event.wait"});
  }

 private:
  bool flag_ = false;
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
  bool wait(std::optional<Duration> timeout = {}) {
    if (ready()) return true;
    return waiters_.wait(timeout, detail::WaitInfo{"AsyncResult.wait"}) || ready();
  }
  /// The value, or rethrows the exception. TimeoutError when `timeout` elapses first.
  T get(std::optional<Duration> timeout = {}) {
    if (!wait(timeout)) {
      throw TimeoutError("AsyncResult.get: timed out after " +
                         detail::format_duration(*timeout));
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
