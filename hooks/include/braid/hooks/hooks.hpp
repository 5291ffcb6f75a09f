// braid_hooks: blocking C calls made cooperative by interposition (docs/guide-hooks.md).
//
// Opt in by linking the program with braid::hooks (CMake), or by starting any braid
// program with LD_PRELOAD=libbraid_hooks_preload.so. Then connect, accept/accept4,
// read/write/readv/writev, recv/send/recvfrom/sendto/recvmsg/sendmsg, poll/ppoll/select,
// sleep/usleep/nanosleep/clock_nanosleep and getaddrinfo/getnameinfo, called on a braid
// coroutine on a descriptor the application left blocking, park that coroutine instead
// of the thread, honouring SO_RCVTIMEO/SO_SNDTIMEO. Anywhere else (main, another thread,
// the hub's own context) and on descriptors the application made non-blocking they are
// libc's own. C code cannot be unwound by an exception, so a kill or braid::Timeout that
// arrives during a hooked call makes it fail with ECANCELED or ETIMEDOUT (every later
// hooked call that would wait fails the same way at once), and the coroutine's next braid
// call throws GreenletExit or TimeoutError.
#pragma once

namespace braid::hooks {

/// True when calls to recv, connect, poll, ... in this process reach braid_hooks: the
/// program was linked with braid::hooks (or the hooks were preloaded).
bool installed() noexcept;

}  // namespace braid::hooks
