// Popen's state, shared by the files that implement it (popen, communicate, run).
#pragma once

#include <braid/process/detail/child_exit.hpp>
#include <braid/process/subprocess.hpp>

#include <optional>
#include <string>
#include <vector>

namespace braid::subprocess::detail {

struct PopenState {
  PopenState(std::vector<std::string> a, bool string_form, process::detail::ChildWatch&& w)
      : args(std::move(a)), string_form(string_form), watch(std::move(w)) {}

  std::vector<std::string> args;       // as given (the string form: one element)
  bool string_form;                    // Popen(std::string): messages show 'cmd', not a list
  process::detail::ChildWatch watch;   // the child's exit; reaps it in the background at the end
  std::optional<PipeWriter> in;        // engaged when stdin is PIPE
  std::optional<PipeReader> out, err;  // engaged when stdout / stderr is PIPE
  bool group_kill = false;  // start_new_session / process_group: a timeout kills the group
  bool killed = false;      // we sent SIGKILL: communicate() bounds the drain that follows

  // communicate() across calls: after TimeoutExpired it goes on where it stopped.
  bool comm_started = false;   // a communicate() call has begun
  bool comm_done = false;      // a communicate() call returned the output
  std::string input;           // what communicate() still has to write
  std::size_t input_done = 0;  // how much of `input` was written

  bool has_pipes() const noexcept { return in || out || err; }
  /// SIGKILL to the child, or to its whole process group with `group_kill` (never to
  /// our own group). Never throws; a no-op once the child was reaped.
  void kill_tree() noexcept;
  /// The exception for an expired `timeout`, with the output read so far.
  TimeoutExpired timeout_expired(Duration timeout) const;
};

/// How long communicate() goes on reading after a SIGKILL once the child has exited:
/// what is already in the pipes is read at once; this only bounds the wait for EOF from
/// a descendant that holds the pipes and survived (not in the child's group).
inline constexpr Duration kDrainAfterKill = std::chrono::milliseconds(250);

/// "Command '['false']' returned non-zero exit status 1." and the like, as Python says it.
CalledProcessError called_process_error(int returncode, const std::vector<std::string>& cmd,
                                        bool string_form, std::string output, std::string errors);
/// Python's repr() of the command, as its messages show it: ['ls', '-l'] or 'ls -l'.
std::string command_repr(const std::vector<std::string>& cmd, bool string_form);
/// Python's str() of a timeout in seconds: "0.5", "10".
std::string seconds_text(Duration d);

}  // namespace braid::subprocess::detail
