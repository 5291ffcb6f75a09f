// Coroutine stacks: sizes and the allocator behind them.
//
// Stacks are carved from large slabs reserved with MAP_NORESERVE, each with an
// inaccessible guard below it (one page on x86-64, 64 KiB on AArch64: address space, not
// memory), and reused through a free list. Pages are committed by the kernel only when
// touched, so an idle coroutine costs the few pages it used. A stack overflow hits the
// guard and is reported with the coroutine's name before the process aborts. A single
// frame larger than the guard reaches it only in code built with
// -fstack-clash-protection, which braid's CMake package and braid.pc add for you.
#pragma once

#include <cstddef>

namespace braid {

/// The stack size used by spawn() when none is given (default 128 KiB; 4x under
/// AddressSanitizer). Sizes are rounded up to whole pages.
std::size_t default_stack_size() noexcept;
/// Changes the default for coroutines spawned from now on, on every thread.
/// std::invalid_argument when `bytes` is below 16 KiB.
void set_default_stack_size(std::size_t bytes);

/// Statistics of the calling thread's stack pool.
struct StackPoolStats {
  std::size_t slabs = 0;        // mappings reserved
  std::size_t in_use = 0;       // stacks held by live coroutines
  std::size_t free = 0;         // stacks ready for reuse
  bool guard_install = false;   // guard pages made with MADV_GUARD_INSTALL (no VMA split)
};
StackPoolStats stack_pool_stats() noexcept;

}  // namespace braid
