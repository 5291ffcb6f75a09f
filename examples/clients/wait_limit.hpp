// An overall time limit for one call of a client adapter (braid_pg, braid_redis) that
// parks several times: what is left of it for the next wait, and a TimeoutError that
// names the call when it is spent.
#pragma once

#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace braid_clients {

class Limit {
 public:
  using Clock = std::chrono::steady_clock;

  /// `what` names the call in the timeout's message ("braid_pg: exec").
  Limit(std::optional<braid::Duration> total, std::string what)
      : total_(total), what_(std::move(what)) {
    if (total_) until_ = Clock::now() + *total_;
  }

  /// What is left for the next wait (nullopt: no limit).
  std::optional<braid::Duration> left() const {
    if (!total_) return std::nullopt;
    const auto rest = until_ - Clock::now();
    return rest > braid::Duration::zero() ? braid::Duration(rest) : braid::Duration::zero();
  }
  bool spent() const { return total_ && Clock::now() >= until_; }

  [[noreturn]] void fail() const {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*total_).count();
    throw braid::TimeoutError(what_ + ": no answer within " + std::to_string(ms) + " ms");
  }

  /// Runs one wait, f(left()). A TimeoutError from this limit gets this limit's message;
  /// one from an enclosing braid::Timeout goes on unchanged.
  template <class F>
  void wait(F&& f) const {
    try {
      std::forward<F>(f)(left());
    } catch (const braid::TimeoutError&) {
      if (spent()) fail();
      throw;
    }
  }

 private:
  std::optional<braid::Duration> total_;
  std::string what_;
  Clock::time_point until_{};
};

}  // namespace braid_clients
