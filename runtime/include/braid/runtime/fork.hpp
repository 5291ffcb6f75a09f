// What the process module calls in a freshly forked child.
#pragma once

namespace braid::detail {
/// Resets the runtime in a forked child: the thread's hub gets a fresh io_context and no
/// coroutines (the caller's context becomes its root), and the thread pool is forgotten.
/// Everything the parent had in flight is abandoned without running.
void after_fork_in_child();
}  // namespace braid::detail
