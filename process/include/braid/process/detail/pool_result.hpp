// Where a Pool task's reply lands in the parent: the Sink interface the dispatcher feeds,
// the shared state behind PoolResult, and the sinks for apply and map (imap's is in
// pool_imap.hpp).
//
// Everything here runs on the hub's thread; waking a waiter is a push onto the ready
// queue. Nothing parks except the explicit waits (ResultState::wait).
#pragma once

#include <braid/process/detail/pool_task.hpp>
#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/wait_queue.hpp>
#include <braid/runtime/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace braid::process::detail {

using braid::detail::format_duration;
using braid::detail::WaitInfo;
using braid::detail::WaitQueue;

/// Receives the replies of one submission's jobs (one job for apply, one per chunk for
/// the map family). deliver/fail return true when the submission has just been decided;
/// the dispatcher then calls publish(), from the callback coroutine when
/// needs_callback() says a user callback must run first.
class Sink {
 public:
  virtual ~Sink() = default;
  /// Decodes part `part`'s result from `in`. cereal/FrameError exceptions mean the bytes
  /// did not decode; the dispatcher then calls fail() for the same part.
  virtual bool deliver(std::uint32_t part, InArchive& in) = 0;
  virtual bool fail(std::uint32_t part, std::exception_ptr e) = 0;
  virtual bool needs_callback() const noexcept { return false; }
  /// Forgets the user callbacks (terminate(): they will not run).
  virtual void drop_callbacks() noexcept {}
  /// Runs the user callback, if any, then makes the result visible and wakes waiters.
  /// Lets only GreenletExit through (a kill of the callback coroutine).
  virtual void publish() {}
};

/// Logs an exception that escaped a Pool callback (it is swallowed: the pool lives on).
void log_callback_error(std::exception_ptr e) noexcept;

template <class T>
struct CallbackFor {
  using type = std::function<void(T)>;
};
template <>
struct CallbackFor<void> {
  using type = std::function<void()>;
};

/// Shared state of a PoolResult<T>.
template <class T>
class ResultState : public Sink {
 public:
  using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  using Callback = typename CallbackFor<T>::type;

  bool ready() const noexcept { return ready_; }
  bool successful() const noexcept { return ready_ && !error_; }

  /// Parks until ready; false when `timeout` elapsed first.
  bool wait(std::optional<Duration> timeout) {
    if (ready_) return true;
    return waiters_.wait(timeout, WaitInfo{"PoolResult.wait"}) || ready_;
  }
  /// Waits, then the value (copied: the handle may be read again) or the task's error.
  T get(std::optional<Duration> timeout) {
    wait_or_throw(timeout);
    if constexpr (!std::is_void_v<T>) return *value_;
  }
  /// As get(), but moves the value out: for apply()/map(), the only reader.
  T take(std::optional<Duration> timeout) {
    wait_or_throw(timeout);
    if constexpr (!std::is_void_v<T>) return std::move(*value_);
  }

  bool needs_callback() const noexcept override {
    return error_ ? static_cast<bool>(error_callback_) : static_cast<bool>(callback_);
  }
  void drop_callbacks() noexcept override {
    callback_ = nullptr;
    error_callback_ = nullptr;
  }
  void publish() override {
    // Ready even when the callback throws or the callback coroutine is killed meanwhile.
    struct Finish {
      ResultState* s;
      ~Finish() {
        s->drop_callbacks();
        s->ready_ = true;
        s->waiters_.notify_all();
      }
    } finish{this};
    try {
      if (error_) {
        if (error_callback_) error_callback_(error_);
      } else if (callback_) {
        if constexpr (std::is_void_v<T>) {
          callback_();
        } else {
          callback_(*value_);
        }
      }
    } catch (const GreenletExit&) {
      throw;
    } catch (...) {
      log_callback_error(std::current_exception());
    }
  }

  void set_callbacks(Callback cb, std::function<void(std::exception_ptr)> ecb) {
    callback_ = std::move(cb);
    error_callback_ = std::move(ecb);
  }

 protected:
  /// Records the outcome; true the first time (the submission is decided).
  bool decide_error(std::exception_ptr e) {
    if (decided_) return false;
    decided_ = true;
    error_ = std::move(e);
    return true;
  }
  std::optional<Stored> value_;

 private:
  void wait_or_throw(std::optional<Duration> timeout) {
    if (!wait(timeout)) {
      throw TimeoutError("PoolResult.get: no result after " + format_duration(*timeout));
    }
    if (error_) std::rethrow_exception(error_);
  }

 protected:
  bool decided_ = false;

 private:
  bool ready_ = false;        // published: get() returns without parking
  std::exception_ptr error_;  // the task's error, when it failed
  Callback callback_;         // run once, in the parent, before ready
  std::function<void(std::exception_ptr)> error_callback_;
  WaitQueue waiters_;  // parked in wait()/get()
};

/// apply / apply_async: one job, one value.
template <class R>
class ApplySink final : public ResultState<R> {
 public:
  bool deliver(std::uint32_t, InArchive& in) override {
    if (this->decided_) return false;
    if constexpr (std::is_void_v<R>) {
      this->value_.emplace();
    } else {
      R v{};
      in(v);
      this->value_.emplace(std::move(v));
    }
    this->decided_ = true;
    return true;
  }
  bool fail(std::uint32_t, std::exception_ptr e) override { return this->decide_error(e); }
};

/// map / map_async / starmap: one job per chunk, results written in place. The first
/// failing chunk decides the whole call (as Python's MapResult).
template <class R>
class MapSink final
    : public ResultState<std::conditional_t<std::is_void_v<R>, void, std::vector<R>>> {
 public:
  /// `starts[k]` is chunk k's first index; the last entry is the total.
  explicit MapSink(std::vector<std::size_t> starts) : starts_(std::move(starts)) {
    left_ = starts_.size() - 1;
    if constexpr (std::is_void_v<R>) {
      this->value_.emplace();
    } else {
      this->value_.emplace(starts_.back());
    }
  }
  bool deliver(std::uint32_t part, InArchive& in) override {
    if (this->decided_) return false;
    if constexpr (!std::is_void_v<R>) {
      const std::size_t begin = starts_[part];
      const std::size_t n = load_count(in, starts_[part + 1] - begin);
      auto& out = *this->value_;
      if constexpr (std::is_same_v<R, bool>) {
        for (std::size_t i = 0; i < n; ++i) {
          bool b = false;
          in(b);
          out[begin + i] = b;
        }
      } else {
        load_items(in, out.data() + begin, n);
      }
    }
    if (--left_ > 0) return false;
    this->decided_ = true;
    return true;
  }
  bool fail(std::uint32_t, std::exception_ptr e) override { return this->decide_error(e); }
  /// An empty input: decided at once (the caller settles it). False otherwise.
  bool settled_empty() noexcept {
    if (left_ != 0) return false;
    this->decided_ = true;
    return true;
  }

 private:
  std::vector<std::size_t> starts_;  // chunk boundaries
  std::size_t left_;                 // chunks not yet delivered
};

}  // namespace braid::process::detail
