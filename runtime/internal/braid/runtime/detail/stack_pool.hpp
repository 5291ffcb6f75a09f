// The per-thread pool of coroutine stacks (see braid/runtime/stack.hpp).
#pragma once

#include <braid/runtime/detail/fiber_record.hpp>
#include <braid/runtime/stack.hpp>

#include <boost/context/stack_context.hpp>

#include <cstddef>
#include <map>
#include <vector>

namespace braid::detail {

/// Bytes of inaccessible guard under every pooled stack: whole pages, at least the
/// largest stack-pointer move code built with -fstack-clash-protection makes without a
/// probe (4 KiB on x86-64, 64 KiB on AArch64). See stack_pool.cpp.
std::size_t stack_guard_size() noexcept;

class StackPool {
 public:
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();

  /// The calling thread's pool.
  static StackPool& local();

  /// A stack of at least `usable` bytes (0 = the default size). Throws std::bad_alloc
  /// (with errno in the log) when the kernel refuses the mapping.
  StackSlot allocate(std::size_t usable);
  void release(const StackSlot& slot) noexcept;
  StackPoolStats stats() const noexcept;

 private:
  struct SizeClass {
    std::vector<char*> free;  // slot bases (the guard page's address), most recent last
  };
  void add_slab(std::size_t slot_size, SizeClass& cls);

  std::map<std::size_t, SizeClass> classes_;  // by slot size (guard + usable)
  std::vector<std::pair<char*, std::size_t>> slabs_;
  std::size_t in_use_ = 0;
};

/// Boost.Context StackAllocator over the pool; carries the slot back to the record.
class PooledStack {
 public:
  explicit PooledStack(FiberRecord& owner) : owner_(&owner) {}
  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& sctx) noexcept;

 private:
  FiberRecord* owner_;
};

}  // namespace braid::detail
