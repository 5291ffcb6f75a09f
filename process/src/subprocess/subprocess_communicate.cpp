// Popen::communicate: feeding stdin while draining stdout and stderr, in the calling
// coroutine alone. Every pipe is non-blocking; the loop does all the I/O it can, and
// parks only when every pipe would block (on the one descriptor left, or on a
// readiness set when there are several), so no size of input or output can deadlock.
// A child that writes faster than we read would keep every read succeeding: each read
// goes through Hub::cooperate(), so the loop yields to the hub every few MiB.
#include <braid/process/subprocess.hpp>

#include "subprocess_impl.hpp"

#include <braid/coro/task.hpp>
#include <braid/runtime/detail/readiness_set.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/hub.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace braid::subprocess {
namespace {

using braid::detail::CallDeadline;

// Read per pipe and round before the others get a turn: one read of a full pipe, so each
// Hub::cooperate() stands for one system call's worth of copying.
constexpr std::size_t kFairShare = 64 * 1024;

// Writes what the pipe takes now; true once all input is written or the child has
// closed its stdin (EPIPE: it stopped reading, which Python ignores as well).
bool write_available(PipeWriter& w, detail::PopenState& m) {
  while (m.input_done < m.input.size()) {
    Hub::current().cooperate();  // a child that reads as fast as we write never blocks us
    const ssize_t n = braid::detail::sys::write(w.fileno(), m.input.data() + m.input_done,
                                                m.input.size() - m.input_done);
    if (n > 0) {
      m.input_done += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return false;
    } else if (errno == EPIPE) {
      return true;
    } else {
      throw std::system_error(errno, std::generic_category(), "write to the child's stdin");
    }
  }
  return true;
}

// The pipes communicate() still has to serve, and the wait for any of them.
class Pump {
 public:
  explicit Pump(detail::PopenState& m) : m_(m) {
    if (m.in && !m.in->closed()) {
      if (m.input_done < m.input.size()) {
        writer_ = &*m.in;
      } else {
        m.in->close();
      }
    }
    for (auto* r : {m.out ? &*m.out : nullptr, m.err ? &*m.err : nullptr}) {
      if (r != nullptr && !r->closed() && r->fileno() >= 0) readers_[nreaders_++] = r;
    }
  }

  // Runs until every pipe is finished (true), or until `until` (false).
  bool run(const CallDeadline& until) {
    for (;;) {
      const bool more_now = step();
      if (active() == 0) return true;
      if (until.passed()) return false;
      if (more_now) continue;
      try {
        if (!wait(until.remaining())) return false;
      } catch (const TimeoutError& e) {
        if (e.source() != nullptr) throw;  // an enclosing Timeout: not ours to translate
        return false;
      }
    }
  }

 private:
  // One round of non-blocking I/O on every pipe. True when a reader stopped at its fair
  // share, so there may be more to read without waiting.
  bool step() {
    bool more_now = false;
    if (writer_ != nullptr && write_available(*writer_, m_)) {
      if (poller_) poller_->remove(writer_->fileno());
      writer_->close();  // the child sees EOF
      writer_ = nullptr;
      m_.input = {};
    }
    for (std::size_t i = 0; i < nreaders_;) {
      PipeReader& r = *readers_[i];
      const int fd = r.fileno();
      const std::size_t before = r.buffered().size();
      Hub::current().cooperate();
      if (r.fill_available(kFairShare)) {  // EOF: the reader closed its descriptor
        if (poller_) poller_->remove(fd);
        readers_[i] = readers_[--nreaders_];
        continue;
      }
      if (r.buffered().size() - before >= kFairShare) more_now = true;
      ++i;
    }
    return more_now;
  }

  std::size_t active() const { return nreaders_ + (writer_ != nullptr ? 1 : 0); }

  // Parks until a pipe is ready; false (or a TimeoutError with no source) when `timeout`
  // passed first.
  bool wait(std::optional<Duration> timeout) {
    if (active() == 1) {
      if (writer_ != nullptr) {
        braid::wait_writable(writer_->fileno(), timeout);
      } else {
        braid::wait_readable(readers_[0]->fileno(), timeout);
      }
      return true;
    }
    using braid::detail::ReadinessSet;
    if (!poller_) {
      poller_ = std::make_unique<ReadinessSet>();
      if (writer_ != nullptr) {
        poller_->add(writer_->fileno(), ReadinessSet::writable, "communicate");
      }
      for (std::size_t i = 0; i < nreaders_; ++i) {
        poller_->add(readers_[i]->fileno(), ReadinessSet::readable, "communicate");
      }
    }
    return !poller_->wait(timeout, 1, "communicate").empty();
  }

  detail::PopenState& m_;
  PipeWriter* writer_ = nullptr;          // stdin, while input remains
  std::array<PipeReader*, 2> readers_{};  // stdout and stderr, until EOF
  std::size_t nreaders_ = 0;
  // Made when two or more pipes need a wait.
  std::unique_ptr<braid::detail::ReadinessSet> poller_;
};

}  // namespace

std::pair<std::string, std::string> Popen::communicate(std::optional<std::string> input,
                                                       std::optional<Duration> timeout) {
  detail::PopenState& m = impl();
  if (m.comm_done && m.has_pipes()) {
    throw std::logic_error(
        "communicate: the child's streams are finished (an earlier communicate() returned "
        "its output and closed them)");
  }
  if (input && !m.in) throw std::logic_error("communicate: input given but stdin is not PIPE");
  if (input && m.comm_started) {
    throw std::logic_error("communicate: cannot send input after starting communication");
  }
  const CallDeadline until(timeout);
  if (!m.comm_started) {
    m.comm_started = true;
    if (m.in && input && !input->empty()) {
      if (m.in->closed()) throw std::logic_error("communicate: input given but stdin is closed");
      m.input = std::move(*input);
    } else if (m.in) {
      m.in->close();  // no input: the child sees EOF at once, as in Python
    }
  }
  if (m.killed) {
    // After SIGKILL the child dies whatever its pipes hold, so wait for it first; then
    // read what is left, but a descendant outside its group that still holds the pipes
    // must not keep us here: stop at kDrainAfterKill (CPython's run() likewise stops
    // reading after its kill).
    if (!m.watch.wait(until.remaining())) throw m.timeout_expired(*timeout);
    const CallDeadline drain_until(detail::kDrainAfterKill);
    // The caller's deadline comes first.
    const bool ours = until.expiry() && *until.expiry() <= *drain_until.expiry();
    if (!Pump(m).run(ours ? until : drain_until) && ours) throw m.timeout_expired(*timeout);
  } else {
    if (!Pump(m).run(until)) throw m.timeout_expired(*timeout);
    if (!m.watch.wait(until.remaining())) throw m.timeout_expired(*timeout);
  }
  m.comm_done = true;
  std::pair<std::string, std::string> result;
  if (m.out) {
    result.first = m.out->take_buffered();
    m.out->close();
  }
  if (m.err) {
    result.second = m.err->take_buffered();
    m.err->close();
  }
  return result;
}

TimeoutExpired detail::PopenState::timeout_expired(Duration timeout) const {
  TimeoutExpired e(fmt::format("Command '{}' timed out after {} seconds",
                               detail::command_repr(args, string_form),
                               detail::seconds_text(timeout)));
  e.cmd = args;
  e.timeout = timeout;
  if (out) e.output = out->buffered();
  if (err) e.errors = err->buffered();
  return e;
}

}  // namespace braid::subprocess
