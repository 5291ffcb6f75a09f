// The runtime's entry table for braid_hooks, the interposition library that makes
// blocking C calls (recv, connect, poll, usleep, ...) park the calling coroutine.
//
// A C table with plain-C types because it is found by name: a hooks library preloaded
// with LD_PRELOAD is a separate shared object with no braid runtime of its own (hubs are
// thread_local per copy of the runtime), so it looks the program's table up with
// dlsym(RTLD_DEFAULT, "braid_hooks_entry_v1") and forwards to libc when there is none.
// Every braid program exports that symbol (braid_runtime's link options). Internal: for
// braid_hooks only.
//
// No function here throws. An interrupt that arrives while parked (a kill, an enclosing
// braid::Timeout) cannot unwind through the C library that called the hook, so it is put
// back on the coroutine, to be thrown at its next braid call, and reported as an errno
// code: ECANCELED for a kill, ETIMEDOUT for a Timeout.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// Layout version 1. Later versions only append members, and `size` tells which exist.
struct braid_hooks_entry {
  unsigned version;  // 1
  unsigned size;     // sizeof(struct braid_hooks_entry) of the runtime that filled it
  /// 1 when the calling thread runs a braid coroutine that may park now; 0 elsewhere (no
  /// hub, the hub's own context, a hub callback, another thread, a thread-pool thread).
  int (*may_park)(void);
  /// 0, or the errno for an interrupt waiting to be thrown (ECANCELED, ETIMEDOUT).
  int (*pending)(void);
  /// Hub::cooperate(): counts an operation that may complete without parking and now
  /// and then yields to the hub. 0, or the errno of an interrupt delivered meanwhile.
  int (*cooperate)(void);
  /// Parks until `fd` is readable (writable when `writable`), or `timeout_ns` (< 0: no
  /// limit) passes. 0 when ready, EAGAIN when the timeout passed, ECANCELED/ETIMEDOUT for
  /// an interrupt, another errno when the wait failed (EBADF).
  int (*wait_fd)(int fd, int writable, long long timeout_ns);
  /// Parks for `ns` nanoseconds (<= 0: yields once). 0, or ECANCELED/ETIMEDOUT.
  int (*sleep)(long long ns);
  /// Runs fn(arg) on braid's thread pool, parking until it returns. The job always
  /// runs to its end; the result is 0, or ECANCELED/ETIMEDOUT for an interrupt that
  /// arrived meanwhile (still pending), or EIO when the job could not be started.
  int (*run_blocking)(void (*fn)(void*), void* arg);
  // ---- appended (present when `size` covers them) ----
  /// The runtime's clock (detail::Clock: steady_clock, or a test clock installed on the
  /// calling thread's hub), in nanoseconds since its epoch: what the hooks measure a
  /// call's time left on, so it agrees with the timers they park on.
  long long (*now_ns)(void);
};

/// The program's table (never null).
__attribute__((visibility("default"))) const struct braid_hooks_entry* braid_hooks_entry_v1(void);

#ifdef __cplusplus
}
#endif
