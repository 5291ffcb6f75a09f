// Popen: starting the child, waiting for it, signalling it.
#include <braid/process/subprocess.hpp>

#include "subprocess_impl.hpp"
#include "subprocess_spawn.hpp"

#include <braid/runtime/thread.hpp>

#include <fmt/format.h>

#include <signal.h>

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
  const auto source = [&](Stdio s, const detail::StdioPipe& p) {
    return s == PIPE ? p.child.get() : s == DEVNULL ? devnull.get() : -1;
  };
  plan.stdio[0] = source(o.in, in);
  plan.stdio[1] = source(o.out, out);
  plan.stdio[2] = source(o.err, err);
  plan.err_to_out = o.err == STDOUT;

  const SpawnOutcome r = spawn_cooperatively(plan);
  if (r.pid < 0) detail::throw_spawn_error(plan, r);
  process::detail::ChildWatch watch(r.pid);  // from here on the child is always reaped
  auto impl = std::make_unique<detail::PopenState>(std::move(args), string_form, std::move(watch));
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
  // Like Python, signalling a child that has already been reaped does nothing.
  if (!m.watch.send_signal(sig) && errno == EINVAL) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("send signal {} to pid {}", sig, m.watch.pid()));
  }
}

void Popen::terminate() { send_signal(SIGTERM); }

void Popen::kill() { send_signal(SIGKILL); }

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
