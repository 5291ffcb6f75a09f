// Capturing and printing call stacks (Boost.Stacktrace on libbacktrace), for the stall
// detector's reports and the spawn stacks of dump_coroutines().
#pragma once

#include <cstddef>
#include <string>

namespace braid::detail {

/// Stores up to `max` return addresses of the calling thread's stack into `out`, skipping
/// the innermost `skip` frames (this function's included). Safe in a signal handler once
/// the unwinder has run once (warm_up_stack_capture).
std::size_t capture_frames(void** out, std::size_t max, std::size_t skip) noexcept;
/// Runs one capture so the unwinder's lazy setup (which may allocate) is done before any
/// capture from a signal handler.
void warm_up_stack_capture() noexcept;
/// One line per frame: "    #3 braid::sleep(...) at /path/sleep.cpp:31", indented by
/// `indent`. Frames without a symbol print their address.
std::string format_frames(void* const* frames, std::size_t n, const char* indent);

}  // namespace braid::detail
