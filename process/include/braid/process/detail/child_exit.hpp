// Waiting for a child process to exit without blocking the hub, and reaping children
// nobody waits for. Shared by Process (fork) and subprocess::Popen (spawn).
#pragma once

#include <braid/runtime/hub.hpp>

#include <sys/types.h>

#include <optional>

namespace braid::process::detail {

/// Decodes a waitpid() status the way Python reports it: the exit code, or -N when the
/// child was killed by signal N.
int decode_wait_status(int wstatus) noexcept;

/// Watches one child. Uses a pidfd (Linux >= 5.3) that the hub waits on; where the
/// kernel has none, it polls waitpid(WNOHANG) with a backoff from 1 ms to 20 ms.
/// The child is reaped by whichever of wait()/poll() first sees it exit.
class ChildWatch {
 public:
  explicit ChildWatch(pid_t pid);
  ChildWatch(ChildWatch&& other) noexcept;
  ChildWatch& operator=(ChildWatch&& other) noexcept;
  ChildWatch(const ChildWatch&) = delete;
  ChildWatch& operator=(const ChildWatch&) = delete;
  /// A child still running (or not yet reaped) is handed to the background reaper, so
  /// it never lingers as a zombie.
  ~ChildWatch();

  /// Parks the calling coroutine until the child exits (and reaps it); returns its
  /// decoded status, or nullopt when `timeout` elapsed first. Throws GreenletExit /
  /// TimeoutError for kills and enclosing Timeouts like every blocking call.
  std::optional<int> wait(std::optional<Duration> timeout = {});
  /// Reaps the child if it has exited; never parks.
  std::optional<int> poll();
  /// The decoded status once reaped.
  std::optional<int> status() const noexcept { return status_; }
  pid_t pid() const noexcept { return pid_; }
  /// Sends `sig` unless the child was already reaped (its pid may be reused by then);
  /// uses pidfd_send_signal where available. False when it was already gone.
  bool send_signal(int sig) noexcept;

 private:
  void reap(int wstatus) noexcept;
  void close_pidfd() noexcept;

  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

/// Reaps `pid` in the background once it exits (a thread waiting on pidfds), for
/// children whose owner is gone. Safe to call for any child of this process.
void reap_in_background(pid_t pid) noexcept;

/// Kills the background reaper's view of the parent's children in a forked child.
void reset_reaper_after_fork() noexcept;

}  // namespace braid::process::detail
