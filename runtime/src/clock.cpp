// detail::Clock: steady_clock, or the calling thread's test clock (detail/clock.hpp).
#include <braid/runtime/detail/clock.hpp>

namespace braid::detail {
namespace {
// Null in production: the only cost a test clock adds to a read is this test.
constinit thread_local ManualTime* t_manual = nullptr;
}  // namespace

Clock::time_point Clock::now() noexcept {
  if (t_manual != nullptr) [[unlikely]]
    return t_manual->now;
  return std::chrono::steady_clock::now();
}

ManualTime* Clock::manual() noexcept { return t_manual; }

void set_manual_time(ManualTime* t) noexcept { t_manual = t; }

}  // namespace braid::detail
