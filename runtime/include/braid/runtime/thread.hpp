// Running blocking code on a thread pool while the calling coroutine parks.
#pragma once

#include <braid/runtime/hub.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace braid {
namespace detail {
/// Runs `job` on braid's thread pool (a few threads, started on first use) and parks
/// the running context until it has finished. The job cannot be abandoned half-way
/// (it may use the caller's locals), so a kill or an enclosing Timeout takes effect
/// when it returns.
void run_on_thread_pool(std::function<void()> job);
/// Threads in the pool (for tests and stats).
std::size_t thread_pool_size() noexcept;
/// In a forked child: forget the parent's pool (its threads do not exist here).
void reset_thread_pool_after_fork() noexcept;
}  // namespace detail

/// Runs `f()` on braid's thread pool and returns its result, parking only the calling
/// coroutine. For calls with no non-blocking form: file I/O, getaddrinfo, a CPU-heavy
/// library call. An exception from `f` is rethrown here. A kill or enclosing Timeout
/// takes effect once `f` returns (a thread cannot be interrupted safely).
/// @par Example
/// @code
///   std::string text = braid::to_thread([] { return read_whole_file("big.log"); });
/// @endcode
template <class F>
auto to_thread(F&& f) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    detail::run_on_thread_pool([&] {
      try {
        std::forward<F>(f)();
      } catch (...) {
        error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<std::conditional_t<std::is_reference_v<R>,
                                     std::reference_wrapper<std::remove_reference_t<R>>, R>>
        result;
    detail::run_on_thread_pool([&] {
      try {
        result.emplace(std::forward<F>(f)());
      } catch (...) {
        error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
    if constexpr (std::is_reference_v<R>) {
      return result->get();
    } else {
      return std::move(*result);
    }
  }
}

}  // namespace braid
