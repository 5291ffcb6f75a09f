// Popen: starting the child, waiting for it, signalling it.
#include <braid/process/subprocess.hpp>

#include "subprocess_impl.hpp"
#include "subprocess_spawn.hpp"

#include <braid/runtime/thread.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace braid::subprocess {
namespace {

using detail::SpawnOutcome;
using detail::SpawnPlan;

// Runs the spawn, which blocks its thread until the child has exec'd (CLONE_VFORK):
// typically 0.3-1 ms, more on a loaded machine. When other coroutines are alive that
// would stall all of them, so the spawn goes to braid's thread pool and only the caller
// parks. With nothing else to run (a plain program calling run() from main) the hand-off
// would only add latency, so the spawn happens right here.
SpawnOutcome spawn_cooperatively(const SpawnPlan& plan) {
  Hub& hub = Hub::current();
  if (!hub.in_coroutine() && hub.live_count() == 0) return detail::spawn_program(plan);
  SpawnOutcome r;
  // A kill or Timeout that arrives meanwhile is raised once the job returns. Nobody can
  // own the child then, so it is killed and reaped in the background.
  struct Orphan {
    SpawnOutcome& r;
    bool armed = true;
    ~Orphan() {
      if (armed && r.pid > 0) {
        ::kill(r.pid, SIGKILL);
        process::detail::reap_in_background(r.pid);
      }
    }
  } orphan{r};
  braid::to_thread([&] { r = detail::spawn_program(plan); });
  orphan.armed = false;
  return r;
}

void check_stdio(const Options& o) {
  if (o.in == STDOUT || o.out == STDOUT) {
    throw std::invalid_argument("Popen: STDOUT is only valid for err");
  }
}

// The child's end for an Fd or a File redirect, close-on-exec and numbered 3 or above:
// a copy of the caller's descriptor (so Fd{1} as stdin and a pipe as stdout cannot
// overwrite each other in the child), or the opened file. Throws std::system_error
// naming the stream and the descriptor or path.
detail::UniqueFd redirect_source(const Redirect& r, int target, const char* stream) {
  if (r.is_fd()) {
    detail::UniqueFd fd(r.fd() < 0 ? -1 : ::fcntl(r.fd(), F_DUPFD_CLOEXEC, 3));
    if (!fd) {
      throw std::system_error(r.fd() < 0 ? EBADF : errno, std::generic_category(),
                              fmt::format("Popen: {} Fd{{{}}}", stream, r.fd()));
    }
    return fd;
  }
  const File& f = *r.file();
  const int flags = target == 0 ? O_RDONLY : O_WRONLY | O_CREAT | (f.append ? O_APPEND : O_TRUNC);
  detail::UniqueFd fd(::open(f.path.c_str(), flags | O_CLOEXEC, 0666));
  if (fd && fd.get() < 3) {  // the parent had 0, 1 or 2 closed
    detail::UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
    fd = std::move(moved);
  }
  if (!fd) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("Popen: {} File '{}'", stream, f.path));
  }
  return fd;
}

}  // namespace

std::unique_ptr<detail::PopenState> Popen::start(std::vector<std::string> args, bool string_form,
                                                 const Options& o) {
  check_stdio(o);
  SpawnPlan plan = detail::make_plan(args, o);
  detail::UniqueFd devnull;
  if (o.in == DEVNULL || o.out == DEVNULL || o.err == DEVNULL) devnull = detail::open_devnull();
  detail::StdioPipe in, out, err;  // the child's ends close when this function returns
  if (o.in == PIPE) in = detail::make_stdio_pipe(true, "stdin");
  if (o.out == PIPE) out = detail::make_stdio_pipe(false, "stdout");
  if (o.err == PIPE) err = detail::make_stdio_pipe(false, "stderr");
  detail::UniqueFd given[3];  // Fd / File sources, closed here once the child has them
  const Redirect* redirects[3] = {&o.in, &o.out, &o.err};
  const detail::StdioPipe* pipes[3] = {&in, &out, &err};
  static constexpr const char* kNames[3] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; ++i) {
    const Redirect& r = *redirects[i];
    if (!r.stdio()) {
      given[i] = redirect_source(r, i, kNames[i]);
      plan.stdio[i] = given[i].get();
    } else if (r == PIPE) {
      plan.stdio[i] = pipes[i]->child.get();
    } else if (r == DEVNULL) {
      plan.stdio[i] = devnull.get();
    }
  }
  plan.err_to_out = o.err == STDOUT;

  const SpawnOutcome r = spawn_cooperatively(plan);
  if (r.pid < 0) detail::throw_spawn_error(plan, r);
  process::detail::ChildWatch watch(r.pid);  // from here on the child is always reaped
  auto impl = std::make_unique<detail::PopenState>(std::move(args), string_form, std::move(watch));
  impl->group_kill = o.start_new_session || o.process_group.has_value();
  if (in.parent) impl->in.emplace(in.parent.release());
  if (out.parent) impl->out.emplace(out.parent.release());
  if (err.parent) impl->err.emplace(err.parent.release());
  return impl;
}

Popen::Popen(std::vector<std::string> args, Options o) : impl_(start(std::move(args), false, o)) {}

Popen::Popen(std::initializer_list<std::string> args, Options o)
    : impl_(start(std::vector<std::string>(args), false, o)) {}

Popen::Popen(std::string command, Options o)
    : impl_(start(std::vector<std::string>{std::move(command)}, true, o)) {}

Popen::Popen(Popen&& other) noexcept = default;
Popen& Popen::operator=(Popen&& other) noexcept = default;
Popen::~Popen() = default;

detail::PopenState& Popen::impl() const {
  if (!impl_) throw std::logic_error("Popen: used after it was moved from");
  return *impl_;
}

pid_t Popen::pid() const { return impl().watch.pid(); }

const std::vector<std::string>& Popen::args() const { return impl().args; }

int Popen::wait(std::optional<Duration> timeout) {
  detail::PopenState& m = impl();
  const std::optional<int> status = m.watch.wait(timeout);
  if (!status) throw m.timeout_expired(*timeout);
  return *status;
}

std::optional<int> Popen::poll() { return impl().watch.poll(); }

std::optional<int> Popen::returncode() const { return impl().watch.status(); }

void Popen::send_signal(int sig) {
  detail::PopenState& m = impl();
  errno = 0;
  if (sig == SIGKILL) m.killed = true;
  // Like Python, signalling a child that has already been reaped does nothing.
  if (!m.watch.send_signal(sig) && errno == EINVAL) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("send signal {} to pid {}", sig, m.watch.pid()));
  }
}

void Popen::terminate() { send_signal(SIGTERM); }

void detail::PopenState::kill_tree() noexcept {
  killed = true;
  if (watch.status()) return;  // reaped: the pid may belong to someone else now
  if (group_kill) {
    // The child is not reaped yet, so its pid (and group) cannot have been reused.
    const pid_t pgid = ::getpgid(watch.pid());
    if (pgid > 0 && pgid != ::getpgrp() && ::killpg(pgid, SIGKILL) == 0) return;
  }
  watch.send_signal(SIGKILL);
}

void Popen::kill() { send_signal(SIGKILL); }

void Popen::kill_group() { impl().kill_tree(); }

PipeWriter& Popen::stdin_stream() {
  detail::PopenState& m = impl();
  if (!m.in) throw std::logic_error("Popen::stdin_stream: stdin is not PIPE");
  return *m.in;
}

PipeReader& Popen::stdout_stream() {
  detail::PopenState& m = impl();
  if (!m.out) throw std::logic_error("Popen::stdout_stream: stdout is not PIPE");
  return *m.out;
}

PipeReader& Popen::stderr_stream() {
  detail::PopenState& m = impl();
  if (!m.err) throw std::logic_error("Popen::stderr_stream: stderr is not PIPE");
  return *m.err;
}

}  // namespace braid::subprocess
