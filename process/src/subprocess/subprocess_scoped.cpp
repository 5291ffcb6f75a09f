// ScopedPopen: Python's `with Popen(...) as p:` with a bounded wait at the end.
#include <braid/process/subprocess.hpp>

#include "subprocess_impl.hpp"

#include <signal.h>

#include <exception>
#include <utility>

namespace braid::subprocess {
namespace {

// After SIGKILL a child is gone in microseconds unless the kernel holds it (a process
// stuck in uninterruptible I/O); past this the Popen's background reaper takes over.
constexpr Duration kReapAfterKill = std::chrono::seconds(5);

}  // namespace

ScopedPopen::ScopedPopen(Popen p, std::optional<Duration> exit_wait)
    : p_(std::move(p)), exit_wait_(exit_wait), unwinding_(std::uncaught_exceptions()) {}

ScopedPopen::~ScopedPopen() noexcept(false) {
  if (done_ || !p_.impl_) return;  // closed already, or the Popen was moved out
  if (std::uncaught_exceptions() > unwinding_) {
    // Leaving the scope by an exception: a second one cannot propagate. An interrupted
    // wait has killed the child; the exception in flight goes on.
    try {
      close();
    } catch (...) {  // NOLINT: GreenletExit included, deliberately
    }
    return;
  }
  close();
}

int ScopedPopen::close() {
  detail::PopenState& m = p_.impl();
  if (done_) return returncode_;
  if (!pipes_closed_) {
    // Python's __exit__ order: stdout, stderr, then stdin (the child sees EOF).
    if (m.out) m.out->close();
    if (m.err) m.err->close();
    if (m.in) m.in->close();
    pipes_closed_ = true;
  }
  std::optional<int> status;
  try {
    status = m.watch.wait(exit_wait_);
  } catch (...) {
    // A kill or an enclosing Timeout: the child must not outlive the scope.
    m.kill_tree();
    killed_ = true;
    done_ = true;
    returncode_ = -SIGKILL;
    throw;
  }
  if (!status) {
    m.kill_tree();
    killed_ = true;
    status = m.watch.wait(kReapAfterKill);
  }
  done_ = true;
  returncode_ = status.value_or(-SIGKILL);
  return returncode_;
}

}  // namespace braid::subprocess
