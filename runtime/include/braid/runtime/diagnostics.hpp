// Tools for a stuck or slow program: a list of every coroutine and what it waits on, and
// a stall detector that reports (with a backtrace) a loop that stopped turning.
// docs/guide-diagnostics.md shows each with real output.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace braid {

/// Writes every live coroutine of the calling thread's hub: id, name, state (ready,
/// running, parked), what a parked one waits on and for how long, and who spawned it (its
/// spawning stack when spawn-stack capture is on). The root context is listed as "main".
///
/// @par Example
/// @code
///   braid::dump_coroutines(std::cerr);
///   // 3 coroutines on this thread's hub (2 parked, 1 ready), main running
///   //   #2 'fetcher' parked 1.20 s on recv fd 7, spawned by 'main' (#0)
///   //   ...
/// @endcode
void dump_coroutines(std::ostream& out);
/// dump_coroutines() into a string.
std::string format_coroutines();

/// Starts the stall detector (one process-wide watchdog thread): when a hub has been
/// running (a coroutine, a handler or the loop itself) for longer than `threshold`
/// without coming back to the top of its loop, it logs at warn level the hub's thread,
/// the coroutine that was running, how long the loop has been stuck, and a symbolised
/// backtrace of the hub's thread taken at that moment (by a signal, SIGRTMIN+7, sent to
/// that thread). One report per stall, at most one per second per hub. A hub waiting for
/// I/O, or a main() running its own code between braid calls, is not stalled. Also turned
/// on, before the first hub exists, by the environment: BRAID_STALL_MS=<threshold in ms>.
/// Calling it again changes the threshold.
/// @throws std::invalid_argument  `threshold` below 1 ms.
void enable_stall_detector(std::chrono::milliseconds threshold);
/// Stops the watchdog thread (no-op when it is not running).
void disable_stall_detector();
/// The threshold the stall detector runs with, or nullopt when it is off.
std::optional<std::chrono::milliseconds> stall_detector_threshold();
/// Stall reports logged so far in this process.
std::uint64_t stall_reports();

/// When on, every spawn records the spawning stack (raw addresses, symbolised only when a
/// dump prints them), so dump_coroutines() can show where each coroutine came from. Off
/// by default (it costs a stack walk per spawn); BRAID_SPAWN_STACKS=1 turns it on.
void capture_spawn_stacks(bool on);

/// Dumps the coroutines of every hub to stderr when `signum` arrives (from the loop of
/// each hub, not from the signal handler). BRAID_DUMP_SIGNAL=SIGUSR1 (a name or number)
/// turns it on at the first hub's creation. Starts the watchdog thread if needed.
/// @throws std::invalid_argument  a signal that cannot be caught (SIGKILL, SIGSTOP, 0).
void dump_coroutines_on_signal(int signum);

}  // namespace braid
