#include <braid/runtime/fork.hpp>

#include <braid/runtime/hub.hpp>
#include <braid/runtime/thread.hpp>

namespace braid::detail {

void after_fork_in_child() {
  reset_thread_pool_after_fork();
  if (Hub* hub = Hub::current_if_any()) hub->reset_after_fork();
}

}  // namespace braid::detail
