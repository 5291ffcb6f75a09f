// Shared pieces of the hooks: the runtime's entry table, libc's own functions, and the
// per-call deadline a socket timeout (SO_RCVTIMEO/SO_SNDTIMEO) gives a parked call.
#pragma once

#include <braid/runtime/detail/hooks_entry.hpp>

#include <dlfcn.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace braid::hooks::detail {

/// The program's braid runtime, or null when it has none (a preloaded hooks library in
/// a program without braid). Defined by entry_direct.cpp or entry_preload.cpp.
const braid_hooks_entry* runtime_entry() noexcept;

/// The runtime when the caller is a braid coroutine that may park; null otherwise, and
/// then the hook behaves exactly as libc's function.
inline const braid_hooks_entry* parking_entry() noexcept {
  const braid_hooks_entry* rt = runtime_entry();
  return rt != nullptr && rt->may_park() != 0 ? rt : nullptr;
}

/// libc's definition of `name` (the next one after the hooks: ASan's interceptor under
/// ASan), looked up once per function by the caller's static.
template <class Fn>
Fn next_symbol(const char* name) noexcept {
  void* sym = ::dlsym(RTLD_NEXT, name);
  if (sym == nullptr) {
    std::fprintf(stderr, "braid_hooks: libc's %s not found (dlsym: %s)\n", name, ::dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

}  // namespace braid::hooks::detail

/// libc's `name`, resolved on first use (thread-safe: a function-local static).
#define BRAID_REAL(name)                                                                  \
  ([]() noexcept {                                                                        \
    static const auto fn = ::braid::hooks::detail::next_symbol<decltype(&::name)>(#name); \
    return fn;                                                                            \
  }())

namespace braid::hooks::detail {

/// Sets errno and returns -1, the C convention.
inline int fail(int err) noexcept {
  errno = err;
  return -1;
}

/// True when the application made `fd` non-blocking (O_NONBLOCK on the open file). The
/// hooks never leave O_NONBLOCK set themselves, so the kernel's flag is the application's
/// view. On error (a closed fd) false: the real call will report it.
bool app_nonblocking(int fd) noexcept;

/// Readiness now: poll(2) with a zero timeout. > 0 when ready (or the descriptor has an
/// error, hang-up or is invalid: the real call will report it), 0 when not.
int ready_now(int fd, short events) noexcept;

/// Nanoseconds since an arbitrary epoch: the runtime's clock (detail::Clock), or
/// CLOCK_MONOTONIC in a program without a braid runtime.
long long now_ns() noexcept;

/// How long a parked call may wait in total: the socket's SO_RCVTIMEO or SO_SNDTIMEO,
/// read from the kernel the first time the call would block (none when zero).
class CallDeadline {
 public:
  /// `opt` is SO_RCVTIMEO or SO_SNDTIMEO, or 0 for "no socket timeout".
  CallDeadline(int fd, int opt) noexcept : fd_(fd), opt_(opt) {}
  /// Nanoseconds left (-1: no limit; 0: expired).
  long long remaining() noexcept;

 private:
  int fd_;
  int opt_;
  bool read_ = false;
  long long until_ = -1;  // absolute, now_ns() clock; -1: none
};

/// Parks until `fd` is readable/writable within `deadline`: 0 when ready, else the errno
/// to report (EAGAIN when the socket timeout passed, ECANCELED/ETIMEDOUT on interrupt).
int park_on(const braid_hooks_entry* rt, int fd, bool writable, CallDeadline& deadline) noexcept;

/// Before a call on `fd` that may complete without parking: the runtime's cooperate()
/// (a yield now and then), unless an interrupt is already pending or `fd` is
/// non-blocking. A non-blocking descriptor gets libc's behaviour exactly, with no yield:
/// Asio makes these calls on its own non-blocking descriptors in the middle of starting
/// an operation, some under its locks (the select reactor writes its eventfd holding the
/// reactor's mutex), and a yield there would let another coroutine re-enter Asio (a
/// deadlock on that mutex, seen under the select preset). 0 or an errno.
int cooperate(const braid_hooks_entry* rt, int fd) noexcept;
/// As above, for a call on several descriptors (poll, select).
int cooperate(const braid_hooks_entry* rt) noexcept;

}  // namespace braid::hooks::detail
