#include <braid/runtime/fork.hpp>

#include "asio_private.hpp"

#include <braid/runtime/detail/clock.hpp>
#include <braid/runtime/hub.hpp>
#include <braid/runtime/thread.hpp>

#include <atomic>

namespace braid::detail {
namespace {
std::atomic<unsigned> g_fork_generation{0};
}  // namespace

unsigned fork_generation() noexcept { return g_fork_generation.load(std::memory_order_relaxed); }

void after_fork_in_child() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
  reset_thread_pool_after_fork();
  reactor_forget_signals_after_fork();
  // A test clock (testing::ManualClock) belongs to the parent's test: the child, which
  // runs its own work and may spin on real-time budgets, measures real time.
  set_manual_time(nullptr);
  if (Hub* hub = Hub::current_if_any()) detail::Scheduling::reset_after_fork(*hub);
}

}  // namespace braid::detail
