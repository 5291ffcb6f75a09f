#include <braid/process/process.hpp>

#include <braid/process/detail/process_state.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/fork.hpp>
#include <braid/runtime/log.hpp>

#include "process_registry.hpp"

#include <fmt/format.h>

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

Process::~Process() {
  if (!started_ || is_self_) return;
  reg::forget(*this, watch_ && !watch_->poll() ? watch_->pid() : 0, daemon_);
  // watch_'s destructor hands a child that still runs to the background reaper.
}

void Process::run() {
  if (target_) target_();
}

pid_t Process::pid() const noexcept { return is_self_ ? ::getpid() : pid_; }

std::optional<int> Process::exitcode() const {
  if (!watch_) return std::nullopt;
  return watch_->poll();
}

void Process::set_daemon(bool daemon) {
  if (started_) throw std::logic_error("cannot set daemon status of an active process");
  daemon_ = daemon;
}

void Process::start() {
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
  reg::add(*this);
}

void Process::run_child(pid_t parent) noexcept {
  int code = 0;
  try {
    braid::detail::after_fork_in_child();
    detail::reset_reaper_after_fork();
    reg::become_child(this, identity_);
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
  if (is_self_) throw std::logic_error("cannot join the current process");
  if (!started_ || !watch_) throw std::logic_error("can only join a started process");
  return watch_->wait(timeout).has_value();
}

bool Process::is_alive() {
  if (is_self_) return true;
  if (!watch_) return false;
  return !watch_->poll().has_value();
}

void Process::terminate() {
  if (watch_) watch_->send_signal(SIGTERM);
}

void Process::kill() {
  if (watch_) watch_->send_signal(SIGKILL);
}

Process& current_process() {
  if (Process* p = reg::current()) return *p;
  static Process* main_process =
      new Process(Process::SelfTag{}, "MainProcess", false);  // never destroyed
  return *main_process;
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
  braid::detail::after_fork_in_child();
  reset_reaper_after_fork();
  auto* self = new Process(Process::SelfTag{}, name, daemon);  // lives as long as the child
  registry::become_child(self, "");
}

}  // namespace detail
}  // namespace braid::process
