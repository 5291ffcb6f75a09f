#include <braid/runtime/detail/stack_pool.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include <braid/runtime/log.hpp>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

namespace braid {
namespace {

#if defined(BRAID_ASAN) || defined(BRAID_TSAN)
constexpr std::size_t kSanitizerFactor = 4;  // instrumented frames are much larger
#else
constexpr std::size_t kSanitizerFactor = 1;
#endif
constexpr std::size_t kMinStack = 16 * 1024;
std::atomic<std::size_t> g_default_stack{128 * 1024};

// Linux >= 6.13 installs guard pages inside an existing mapping without splitting it,
// which keeps a million stacks under vm.max_map_count. Older kernels say EINVAL.
#ifndef MADV_GUARD_INSTALL
constexpr int MADV_GUARD_INSTALL = 102;
#endif
std::atomic<int> g_guard_install_works{-1};  // -1 unknown, 0 no, 1 yes

std::size_t page_size() noexcept {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

std::size_t round_to_pages(std::size_t n) noexcept {
  const std::size_t page = page_size();
  return (n + page - 1) / page * page;
}

// The guard under each stack must be at least as large as the biggest stack-pointer move
// compiled code may make without touching memory, or a big frame lands in the next stack
// down instead of the guard. With -fstack-clash-protection (exported by braid's CMake
// package and braid.pc) that move is bounded by the compiler's probe interval:
// - x86-64 / i386: GCC (--param stack-clash-protection-guard-size, default 2^12) and
//   Clang (stack-probe-size, default 4096) probe every 4 KiB of a larger frame, top down,
//   and count the return address that `call` pushed as a probe: one 4 KiB page suffices.
// - AArch64 and others: GCC assumes Linux's 64 KiB guard there (default guard size 2^16;
//   glibc enforces a 64 KiB thread guard on AArch64 for the same reason) and leaves frames
//   below ~63 KiB unprobed: 64 KiB.
// The guard is address space only (PROT_NONE or MADV_GUARD_INSTALL), never resident.
// Without the flag no finite guard helps: a frame may be of any size.
#if defined(__x86_64__) || defined(__i386__)
constexpr std::size_t kProbeGuard = 4 * 1024;
#else
constexpr std::size_t kProbeGuard = 64 * 1024;
#endif

// Makes the page at `guard` inaccessible; prefers the non-splitting madvise.
void install_guard(char* guard, std::size_t len) {
  if (g_guard_install_works.load(std::memory_order_relaxed) != 0) {
    if (::madvise(guard, len, MADV_GUARD_INSTALL) == 0) {
      g_guard_install_works.store(1, std::memory_order_relaxed);
      return;
    }
    g_guard_install_works.store(0, std::memory_order_relaxed);
  }
  if (::mprotect(guard, len, PROT_NONE) != 0) {
    detail::log().error("stack pool: mprotect of a guard page failed: {}", std::strerror(errno));
  }
}

// Installs the guard of every slot in a new slab: `count` guards of `len` bytes, `stride`
// apart from `first`. One process_madvise(2) covers up to kGuardBatch of them where the
// kernel takes MADV_GUARD_INSTALL that way (Linux >= 6.13): a slab of 62 default stacks
// costs three syscalls instead of 62 madvise calls, which were a tenth of the CPU time of
// spawning 100,000 sleepers. Whatever the batch did not cover gets install_guard.
constexpr std::size_t kGuardBatch = 256;   // iovecs per call, well under IOV_MAX
std::atomic<int> g_guard_batch_works{-1};  // -1 unknown, 0 no, 1 yes

void install_guards(char* first, std::size_t stride, std::size_t count, std::size_t len) {
  std::size_t done = 0;
#if defined(SYS_process_madvise) && defined(SYS_pidfd_open)
  if (g_guard_batch_works.load(std::memory_order_relaxed) != 0 &&
      g_guard_install_works.load(std::memory_order_relaxed) != 0) {
    // A pidfd of our own process, opened per slab: a cached one would name the parent
    // after a fork, and a descriptor kept open would show in leak checks.
    const detail::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0U)));
    while (pidfd && done < count) {
      iovec iov[kGuardBatch];
      const std::size_t n = std::min(kGuardBatch, count - done);
      for (std::size_t i = 0; i < n; ++i) {
        iov[i].iov_base = first + (done + i) * stride;
        iov[i].iov_len = len;
      }
      const long r = ::syscall(SYS_process_madvise, pidfd.get(), iov, n, MADV_GUARD_INSTALL, 0U);
      if (r <= 0) break;
      const std::size_t covered = static_cast<std::size_t>(r) / len;  // whole guards only
      g_guard_batch_works.store(1, std::memory_order_relaxed);
      g_guard_install_works.store(1, std::memory_order_relaxed);
      done += covered;
      if (covered < n) break;  // partial: the rest one by one
    }
    // Not taken (an older kernel, a seccomp filter, no descriptor left): one by one from
    // now on.
    if (done == 0) g_guard_batch_works.store(0, std::memory_order_relaxed);
  }
#endif
  for (std::size_t i = done; i < count; ++i) install_guard(first + i * stride, len);
}

}  // namespace

std::size_t default_stack_size() noexcept {
  return g_default_stack.load(std::memory_order_relaxed) * kSanitizerFactor;
}

void set_default_stack_size(std::size_t bytes) {
  if (bytes < kMinStack) {
    throw std::invalid_argument("set_default_stack_size: " + std::to_string(bytes) +
                                " bytes is below the 16 KiB minimum");
  }
  g_default_stack.store(bytes, std::memory_order_relaxed);
}

StackPoolStats stack_pool_stats() noexcept { return detail::StackPool::local().stats(); }

namespace detail {

std::size_t stack_guard_size() noexcept {
  static const std::size_t guard = round_to_pages(std::max(page_size(), kProbeGuard));
  return guard;
}

StackPool& StackPool::local() {
  static thread_local StackPool pool;
  return pool;
}

StackPool::~StackPool() {
  // exit() runs thread_local destructors on the stack it was called on, which may be one
  // of ours: a Pool worker is forked inside a coroutine and runs its tasks on that stack,
  // so a task calling exit() lands here on it. Unmapping that slab would pull the stack
  // from under the rest of exit(); the process is ending, the kernel reclaims it.
  const char here = 0;
  const char* sp = &here;
  for (auto& [addr, len] : slabs_) {
    if (sp >= addr && sp < addr + len) continue;
    ::munmap(addr, len);
  }
}

void StackPool::add_slab(std::size_t slot_size, SizeClass& cls) {
  // About 8 MiB per slab, at least 4 slots: few mappings for a million stacks.
  const std::size_t slots = std::max<std::size_t>(4, (8u << 20) / slot_size);
  const std::size_t len = slots * slot_size;
  void* mem = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    log().error("stack pool: mmap of {} bytes failed: {}", len, std::strerror(errno));
    throw std::bad_alloc();
  }
  slabs_.emplace_back(static_cast<char*>(mem), len);
  char* base = static_cast<char*>(mem);
  cls.free.reserve(cls.free.size() + slots);
  install_guards(base, slot_size, slots, stack_guard_size());
  // Push in reverse so the lowest addresses are handed out first.
  for (std::size_t i = slots; i-- > 0;) cls.free.push_back(base + i * slot_size);
}

StackSlot StackPool::allocate(std::size_t usable) {
  if (usable == 0) usable = default_stack_size();
  usable = round_to_pages(std::max(usable, kMinStack));
  const std::size_t guard = stack_guard_size();
  const std::size_t slot_size = usable + guard;
  SizeClass& cls = classes_[slot_size];
  if (cls.free.empty()) add_slab(slot_size, cls);
  char* slot = cls.free.back();
  cls.free.pop_back();
  ++in_use_;
  return StackSlot{slot + guard, usable, slot, guard, slot_size};
}

void StackPool::release(const StackSlot& slot) noexcept {
  if (slot.guard == nullptr) return;
  --in_use_;
  auto it = classes_.find(slot.slot_size);
  if (it == classes_.end()) return;  // cannot happen: the class made this slot
  try {
    it->second.free.push_back(slot.guard);
  } catch (...) {
    // Out of memory growing the free list: the slot is simply not reused.
  }
}

StackPoolStats StackPool::stats() const noexcept {
  StackPoolStats s;
  s.slabs = slabs_.size();
  s.in_use = in_use_;
  for (const auto& [size, cls] : classes_) s.free += cls.free.size();
  s.guard_install = g_guard_install_works.load(std::memory_order_relaxed) == 1;
  return s;
}

boost::context::stack_context PooledStack::allocate() {
  owner_->stack = StackPool::local().allocate(owner_->stack_size);
  boost::context::stack_context sctx;
  sctx.size = owner_->stack.size;
  sctx.sp = owner_->stack.base + owner_->stack.size;
  return sctx;
}

void PooledStack::deallocate(boost::context::stack_context& sctx) noexcept {
  // Runs on the next context after the coroutine's last switch, so the slot is unused.
  char* base = static_cast<char*>(sctx.sp) - sctx.size;
  const std::size_t guard = stack_guard_size();
  StackPool::local().release(StackSlot{base, sctx.size, base - guard, guard, sctx.size + guard});
}

}  // namespace detail
}  // namespace braid
