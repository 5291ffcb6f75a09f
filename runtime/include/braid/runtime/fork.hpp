// What the process module calls in a freshly forked child.
#pragma once

namespace braid::detail {
/// Resets the runtime in a forked child: the thread's hub gets a fresh io_context and no
/// coroutines (the caller's context becomes its root), and the thread pool is forgotten.
/// Everything the parent had in flight is abandoned without running.
void after_fork_in_child();

/// How many times after_fork_in_child() ran in this process's line of descent: objects
/// that registered with a reactor remember it, and after a fork leave the parent's
/// registration alone (the child shares the parent's epoll instance).
unsigned fork_generation() noexcept;
}  // namespace braid::detail
