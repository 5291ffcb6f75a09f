// The worker process: a plain blocking loop (no hub needed) that reads task frames,
// jumps to each task's trampoline and writes the replies back, until its socket closes.
#include "pool_internal.hpp"

#include <braid/runtime/detail/clock.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/fork.hpp>

#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>

namespace braid::process::detail {
namespace {

// Real time in a worker: after_fork_in_child leaves no test clock installed.
using braid::detail::Clock;
using namespace std::chrono_literals;

constexpr std::size_t kReadChunk = 64 * 1024;
// Replies of quick tasks are gathered into one write, but never held back for long:
// a reply is flushed before the next task starts unless the previous task was quick.
constexpr auto kQuickTask = 20us;
constexpr auto kMaxHold = 200us;
constexpr std::size_t kMaxHeldBytes = 256 * 1024;

[[noreturn]] void leave(int code) noexcept {
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}

class WorkerLoop;
WorkerLoop* g_loop = nullptr;  // for flush_at_exit
pid_t g_worker_pid = 0;        // a process the task forks must not send our replies

void flush_at_exit() noexcept;
struct ExitFlush {
  ~ExitFlush() { flush_at_exit(); }
};

class WorkerLoop {
 public:
  WorkerLoop(int fd, const PoolConfig& cfg, WorkerProgress* progress)
      : fd_(fd), max_tasks_(cfg.maxtasksperchild), progress_(progress), sink_(out_), os_(&sink_) {
    in_.resize(kReadChunk);
    // A task that calls exit() must not take the replies of the tasks before it (batched
    // in out_) with it: they are sent first. exit() destroys thread_local objects before
    // it runs atexit handlers (and the hub's teardown may not survive being run inside a
    // task), so the hook is a thread_local made last, hence destroyed first. A crash or
    // _exit cannot be caught; then the progress page tells the parent what completed.
    g_loop = this;
    g_worker_pid = ::getpid();
    thread_local ExitFlush hook;
    (void)hook;
  }

  void initialize(void (*init)()) {
    if (init == nullptr) return;
    try {
      init();
    } catch (...) {
      init_error_ = describe_current_exception();
    }
  }

  [[noreturn]] void run() {
    for (;;) {
      while (auto payload = next_frame()) {
        if (!out_.empty() && (last_task_ > kQuickTask || Clock::now() - held_since_ > kMaxHold ||
                              out_.size() > kMaxHeldBytes)) {
          flush();
        }
        const auto t0 = Clock::now();
        answer(*payload);
        const auto t1 = Clock::now();
        last_task_ = t1 - t0;
        if (held_ == 0) held_since_ = t1;
        ++held_;
        if (max_tasks_ != 0 && ++done_ >= max_tasks_) {
          flush();
          leave(0);
        }
      }
      flush();
      if (!fill()) leave(0);  // the parent closed our socket: the pool is done with us
    }
  }

 private:
  // The next complete task frame's payload, or nullopt when more bytes are needed.
  std::optional<std::span<const std::byte>> next_frame() {
    const std::size_t have = end_ - begin_;
    if (have < kFrameHeaderSize) return std::nullopt;
    std::size_t n = 0;
    try {
      n = parse_frame_header(in_.data() + begin_, kDefaultMaxFrame);
    } catch (const std::exception&) {
      leave(3);  // the stream is out of step: the parent sees EOF and fails our tasks
    }
    if (have < kFrameHeaderSize + n) {
      if (in_.size() - begin_ < kFrameHeaderSize + n) in_.resize(begin_ + kFrameHeaderSize + n);
      return std::nullopt;
    }
    std::span<const std::byte> p(in_.data() + begin_ + kFrameHeaderSize, n);
    begin_ += kFrameHeaderSize + n;
    return p;
  }

 public:
  // Sends the replies already complete (not the one a task calling exit() was making).
  void flush_complete() noexcept {
    out_.resize(complete_);
    flush();
  }

 private:
  // Reads what the socket has (polling first when BRAID_POOL_SPIN_US asks for it); false at
  // EOF or on an error.
  bool fill() {
    if (begin_ == end_) {
      begin_ = end_ = 0;
      if (in_.size() > 16 * kReadChunk) {  // after a large frame
        in_.resize(kReadChunk);
        in_.shrink_to_fit();
      }
    } else if (in_.size() - end_ < kReadChunk / 4) {
      std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (in_.size() - end_ < kReadChunk / 4) in_.resize(end_ + kReadChunk);
    const auto spin = pool_spin();
    if (spin.count() > 0) {
      const auto until = Clock::now() + spin;
      do {
        const ssize_t r =
            braid::detail::sys::recv(fd_, in_.data() + end_, in_.size() - end_, MSG_DONTWAIT);
        if (r > 0) {
          end_ += static_cast<std::size_t>(r);
          return true;
        }
        if (r == 0) return false;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      } while (Clock::now() < until);
    }
    const ssize_t r = braid::detail::sys::recv(fd_, in_.data() + end_, in_.size() - end_, 0);
    if (r <= 0) return false;
    end_ += static_cast<std::size_t>(r);
    return true;
  }

  void answer(std::span<const std::byte> payload) {
    ByteSource src(payload);
    InArchive in(src);
    std::uint64_t id = 0, tramp = 0, fn = 0;
    try {
      in(id, tramp, fn);
    } catch (const std::exception&) {
      leave(3);
    }
    const std::size_t mark = out_.size();
    out_.resize(mark + kFrameHeaderSize);
    os_.clear();
    // Before the task can have any effect: if we die from here on, the parent reports the
    // task as one that may have run instead of putting it back in the queue.
    progress_->started.store(++started_, std::memory_order_seq_cst);
    const auto t0 = Clock::now();
    if (init_error_) {
      reply_error(id, kReplyInitFailed, *init_error_);
    } else {
      try {
        OutArchive ar(os_);
        ar(id, kReplyOk, std::uint64_t{0});
        reinterpret_cast<Trampoline>(tramp)(static_cast<std::uintptr_t>(fn), in, ar);
        if (!os_) throw std::bad_alloc();
      } catch (...) {
        const auto what = describe_current_exception();
        out_.resize(mark + kFrameHeaderSize);
        os_.clear();
        reply_error(id, kReplyRaised, what);
      }
    }
    // The run time goes in the slot reserved after id and status (cereal's binary
    // archive writes integers as their raw bytes), for the parent's pipelining decision.
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    std::memcpy(out_.data() + mark + kFrameHeaderSize + sizeof(std::uint64_t) + 1, &ns, sizeof ns);
    put_frame_header(out_.data() + mark, out_.size() - mark - kFrameHeaderSize);
    complete_ = out_.size();
    progress_->finished.store(started_, std::memory_order_release);
  }

  void reply_error(std::uint64_t id, std::uint8_t status,
                   const std::pair<std::string, std::string>& what) {
    OutArchive ar(os_);
    ar(id, status, std::uint64_t{0}, what.first, what.second);
  }

  // Prints from tasks reach the terminal before the parent hears the task is done, so a
  // callback's output comes after the task's own.
  void flush() {
    std::fflush(stdout);
    std::fflush(stderr);
    std::size_t done = 0;
    while (done < out_.size()) {
      const ssize_t r =
          braid::detail::sys::send(fd_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL);
      if (r >= 0) {
        done += static_cast<std::size_t>(r);
      } else {
        leave(0);  // the parent is gone
      }
    }
    out_.clear();
    if (out_.capacity() > 16 * kReadChunk) out_.shrink_to_fit();
    complete_ = 0;
    held_ = 0;
  }

  int fd_;                     // our end of the socketpair (blocking)
  std::size_t max_tasks_;      // leave after this many (0 = never)
  std::size_t done_ = 0;       // tasks answered
  WorkerProgress* progress_;   // shared with the parent
  std::uint64_t started_ = 0;  // tasks begun (mirrored in progress_)
  std::vector<std::byte> in_;  // requests read, [begin_, end_) unparsed
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::vector<std::byte> out_;      // replies not yet written
  std::size_t complete_ = 0;        // bytes of out_ that are whole replies
  ByteSink sink_;                   // appends to out_
  std::ostream os_;                 // over sink_, for the reply archives
  std::size_t held_ = 0;            // replies in out_
  Clock::time_point held_since_{};  // when the first of them was made
  Clock::duration last_task_{};     // how long the previous task ran
  std::optional<std::pair<std::string, std::string>> init_error_;  // initializer's exception
};

void flush_at_exit() noexcept {
  if (g_loop != nullptr && ::getpid() == g_worker_pid) g_loop->flush_complete();
}

}  // namespace

[[noreturn]] void worker_main(int fd, const PoolConfig& cfg, pid_t parent,
                              const std::vector<int>& inherited,
                              WorkerProgress* progress) noexcept {
  try {
    braid::detail::after_fork_in_child();
    reset_reaper_after_fork();
    for (int other : inherited) {
      if (other != fd) ::close(other);
    }
    // Die with the parent even if it is SIGKILLed and never closes our socket.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) leave(0);
    WorkerLoop loop(fd, cfg, progress);
    loop.initialize(cfg.initializer);
    loop.run();
  } catch (...) {
    leave(70);
  }
}

}  // namespace braid::process::detail
