// Per-process bookkeeping of the process module, for code that forks on its own (the
// worker Pool, the Manager server): what a forked child must reset before running.
#pragma once

#include <string>

namespace braid::process {
class Process;
}

namespace braid::process::detail {

/// Call first thing in a child forked outside Process::start(): resets the hub and thread
/// pool (braid::detail::after_fork_in_child), the background reaper, and the process
/// registry (the parent's children are not ours; current_process() becomes a process
/// named `name`, daemon when `daemon`).
void after_fork_in_child(const std::string& name, bool daemon);

/// Flushes C stdio (braid's logger writes through it) and std::cout/cerr/clog: call before fork (so
/// buffered output is not written twice) and before _exit.
void flush_standard_streams() noexcept;

/// Terminates daemon children and waits for every child of this process, blocking the
/// thread (no hub). Runs at the parent's exit (atexit) and at the end of every child.
void finish_children() noexcept;

}  // namespace braid::process::detail
