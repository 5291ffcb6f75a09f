// Internal: the allocator braid's socket operations hand to Asio for their operation
// objects. Asio recycles operation memory only while a handler of io_context::run()
// is on the stack; braid's coroutines start operations from the hub's own loop, between
// run_one() calls, so without this every read and wait would malloc and free.
#pragma once

#include <cstddef>
#include <new>

namespace braid::net::detail {

/// Per-thread free lists of small blocks (64-byte size classes up to 1 KiB); larger
/// requests go to operator new. Blocks are returned to the list of the thread that
/// frees them, which for hub operations is the hub's thread.
void* op_allocate(std::size_t size);
void op_deallocate(void* p, std::size_t size) noexcept;

template <class T>
struct OpAllocator {
  using value_type = T;
  OpAllocator() noexcept = default;
  template <class U>
  OpAllocator(const OpAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(op_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { op_deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const OpAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace braid::net::detail
