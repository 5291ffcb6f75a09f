// Running a hub on a background thread, and handing it work from other threads.
#pragma once

#include <braid/coro/task.hpp>
#include <braid/runtime/hub.hpp>

#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace braid {

/// Runs `f()` in a new coroutine on `hub` and returns a future for its result.
/// Thread-safe: call it from any thread. `f` may block cooperatively (sleep, sockets,
/// queues of that hub). Its exception travels through the future; if the coroutine is
/// killed (the hub shut down first), the future holds a std::runtime_error saying so.
/// @par Example
/// @code
///   braid::HubThread io;
///   std::future<int> answer = braid::submit(io.hub(), [] { braid::sleep(10ms); return 42; });
///   assert(answer.get() == 42);
/// @endcode
template <class F>
auto submit(Hub& hub, F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>&>> {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  // std::function (Hub::post) needs a copyable callable: share the user's, which may be
  // move-only.
  auto fn = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
  hub.post([promise, fn] {
    braid::spawn([promise, fn] {
      try {
        if constexpr (std::is_void_v<R>) {
          (*fn)();
          promise->set_value();
        } else {
          promise->set_value((*fn)());
        }
      } catch (const GreenletExit&) {
        promise->set_exception(std::make_exception_ptr(
            std::runtime_error("braid::submit: the coroutine was killed before it finished")));
        throw;
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
  });
  return future;
}

/// A hub running on its own thread until stopped: the "run it on a thread and post to
/// it" form of embedding. Other threads hand it work with submit() or hub().post().
class HubThread {
 public:
  /// Starts the thread; returns once its hub exists.
  HubThread();
  HubThread(const HubThread&) = delete;
  HubThread& operator=(const HubThread&) = delete;
  /// stop().
  ~HubThread();

  /// The background thread's hub. Only post()/stop() may be called on it from here.
  Hub& hub() noexcept { return *hub_; }
  /// Runs `f()` in a coroutine on the background hub; see braid::submit.
  template <class F>
  auto submit(F&& f) {
    return braid::submit(*hub_, std::forward<F>(f));
  }
  /// Stops the loop, kills the coroutines still running (their destructors run) and
  /// joins the thread. Idempotent.
  void stop();

 private:
  std::thread thread_;
  Hub* hub_ = nullptr;
  std::optional<Hub::KeepAlive> keep_alive_;  // keeps run() going while idle
};

}  // namespace braid
