#include <braid/process/process.hpp>

#include <braid/process/detail/process_state.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/fork.hpp>
#include <braid/runtime/log.hpp>
#include <braid/runtime/wait.hpp>

#include "process_registry.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <system_error>

namespace braid::process {

namespace reg = detail::registry;

Process::Process() : Process(ProcessOptions{}, 0) {}

Process::Process(ProcessOptions o, int) {
  const unsigned n = reg::next_child_number();
  const std::string& parent_id = reg::identity();
  identity_ = parent_id.empty() ? std::to_string(n) : parent_id + ":" + std::to_string(n);
  name_ = o.name.empty() ? "Process-" + identity_ : std::move(o.name);
  daemon_ = o.daemon.value_or(current_process().daemon());
}

Process::Process(SelfTag, std::string name, bool daemon)
    : name_(std::move(name)), daemon_(daemon), started_(true), is_self_(true) {}

// The parent seen from a child. Its pidfd is opened here, then checked against getppid():
// while the parent is still our parent its pid cannot have been reused, so a pidfd opened
// before that check names the parent. When the parent is already gone, the sentinel is an
// eventfd holding 1: readable at once, as a sentinel of an ended process should be.
Process::Process(ParentTag, std::string name, pid_t pid)
    : name_(std::move(name)), started_(true), pid_(pid), is_parent_(true) {
  sentinel_ = reg::open_pidfd(pid);
  if (sentinel_ >= 0 && ::getppid() == pid) return;
  if (sentinel_ >= 0) ::close(sentinel_);
  sentinel_ = -1;
  if (::getppid() == pid) return;  // alive, but no pidfd: is_alive() asks getppid()
  sentinel_ = ::eventfd(1, EFD_CLOEXEC);
}

Process::~Process() {
  if (sentinel_ >= 0) ::close(sentinel_);
  if (!started_ || is_self_ || is_parent_ || closed_) return;
  reg::forget(*this, watch_ && !watch_->poll() ? watch_->pid() : 0, daemon_);
  // watch_'s destructor hands a child that still runs to the background reaper.
}

void Process::check_not_closed() const {
  if (closed_) throw std::logic_error(fmt::format("process object {} is closed", name_));
}

bool Process::parent_alive() const {
  if (sentinel_ < 0) return ::getppid() == pid_;
  pollfd p{sentinel_, POLLIN, 0};
  return braid::detail::sys::poll(&p, 1, 0) == 0;
}

int Process::sentinel() const {
  check_not_closed();
  if (is_self_) throw std::logic_error("current_process() has no sentinel");
  if (!started_) throw std::logic_error(fmt::format("process {} not started", name_));
  if (sentinel_ < 0) {
    throw std::system_error(ENOSYS, std::generic_category(),
                            fmt::format("sentinel of {}: this kernel has no pidfd_open", name_));
  }
  return sentinel_;
}

void Process::close() {
  if (closed_ || is_self_) return;
  if (started_ && !is_parent_ && watch_ && !watch_->poll()) {
    throw std::logic_error(fmt::format(
        "cannot close process {} while it is still running: join() or terminate() it first",
        name_));
  }
  if (sentinel_ >= 0) ::close(sentinel_);
  sentinel_ = -1;
  if (started_ && !is_parent_) reg::forget(*this, 0, daemon_);
  watch_.reset();
  closed_ = true;
}

void Process::run() {
  if (target_) target_();
}

pid_t Process::pid() const noexcept { return is_self_ ? ::getpid() : pid_; }

std::optional<int> Process::exitcode() const {
  check_not_closed();
  if (!watch_) return std::nullopt;
  return watch_->poll();
}

void Process::set_daemon(bool daemon) {
  if (started_) throw std::logic_error("cannot set daemon status of an active process");
  daemon_ = daemon;
}

void Process::start() {
  check_not_closed();
  if (started_) throw std::logic_error("cannot start a process twice");
  detail::flush_standard_streams();  // else the child would write the parent's buffer again
  reg::prepare_start();
  const pid_t parent = ::getpid();
  started_ = true;
  const pid_t pid = ::fork();
  if (pid < 0) {
    started_ = false;
    throw std::system_error(errno, std::generic_category(), fmt::format("fork for {}", name_));
  }
  if (pid == 0) run_child(parent);
  pid_ = pid;
  watch_.emplace(pid);
  // Opened now, while nobody can have reaped the child (a pid reaped and reused would
  // name another process); -1 without pidfd support, and sentinel() says so.
  sentinel_ = reg::open_pidfd(pid);
  reg::add(*this);
}

void Process::run_child(pid_t parent) noexcept {
  int code = 0;
  try {
    const std::string parent_name = current_process().name();
    braid::detail::after_fork_in_child();
    detail::reset_reaper_after_fork();
    reg::become_child(this, identity_, parent, parent_name);
    pid_ = ::getpid();
    is_self_ = true;  // from here on this object stands for the running process
    if (daemon_) {
      // Dies with the parent even when the parent crashes before its atexit handler runs.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);  // the parent died before prctl took effect
    }
    run();
  } catch (const GreenletExit&) {
    code = 1;
  } catch (const std::exception& e) {
    braid::detail::log().error("Process {} (pid {}): uncaught exception: {}", name_, ::getpid(),
                               e.what());
    code = 1;
  } catch (...) {
    braid::detail::log().error("Process {} (pid {}): uncaught exception of unknown type", name_,
                               ::getpid());
    code = 1;
  }
  detail::finish_children();
  detail::flush_standard_streams();
  ::_exit(code);
}

bool Process::join(std::optional<Duration> timeout) {
  check_not_closed();
  if (is_self_) throw std::logic_error("cannot join the current process");
  if (is_parent_) {
    if (sentinel_ < 0) return !parent_alive();  // no pidfd: no way to park on it
    try {
      braid::wait_readable(sentinel_, timeout);
      return true;
    } catch (const TimeoutError& e) {
      if (e.source() != nullptr) throw;  // an enclosing Timeout, not ours
      return false;
    }
  }
  if (!started_ || !watch_) throw std::logic_error("can only join a started process");
  return watch_->wait(timeout).has_value();
}

bool Process::is_alive() {
  check_not_closed();
  if (is_self_) return true;
  if (is_parent_) return parent_alive();
  if (!watch_) return false;
  return !watch_->poll().has_value();
}

void Process::terminate() {
  check_not_closed();
  if (is_parent_) throw std::logic_error("parent_process() cannot be signalled through braid");
  if (watch_) watch_->send_signal(SIGTERM);
}

void Process::kill() {
  check_not_closed();
  if (is_parent_) throw std::logic_error("parent_process() cannot be signalled through braid");
  if (watch_) watch_->send_signal(SIGKILL);
}

Process& current_process() {
  if (Process* p = reg::current()) return *p;
  static Process* main_process =
      new Process(Process::SelfTag{}, "MainProcess", false);  // never destroyed
  return *main_process;
}

Process* parent_process() {
  if (reg::parent_pid() == 0) return nullptr;  // the main process
  if (Process* p = reg::parent_process()) return p;
  auto* p = new Process(Process::ParentTag{}, reg::parent_name(), reg::parent_pid());
  reg::set_parent_process(p);  // never destroyed, as current_process()
  return p;
}

std::vector<Process*> active_children() {
  std::vector<Process*> alive;
  for (Process* p : reg::children()) {
    if (p->is_alive()) alive.push_back(p);
  }
  return alive;
}

unsigned cpu_count() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1U;
}

namespace detail {

void flush_standard_streams() noexcept {
  // pubsync() rather than flush(): the same sync, without the sentry, which reads
  // thread-local exception state (one more page for a forked child to fault in).
  try {
    for (std::ostream* os : {&std::cout, &std::cerr, &std::clog}) {
      if (std::streambuf* buf = os->rdbuf()) buf->pubsync();
    }
  } catch (...) {
    // A broken stdout must not stop a fork or an exit.
  }
  // This also flushes braid's logger, whose only sink writes to stderr through stdio.
  // Calling its flush() as well would lock its mutex, a page every forked child would
  // then copy on write for nothing.
  std::fflush(nullptr);
}

void after_fork_in_child(const std::string& name, bool daemon) {
  // Read before anything else: once the parent is gone getppid() names another process.
  const pid_t parent = ::getppid();
  const std::string parent_name = current_process().name();
  braid::detail::after_fork_in_child();
  reset_reaper_after_fork();
  auto* self = new Process(Process::SelfTag{}, name, daemon);  // lives as long as the child
  registry::become_child(self, "", parent, parent_name);
}

}  // namespace detail
}  // namespace braid::process
