#include <braid/process/detail/child_exit.hpp>

#include <braid/coro/sleep.hpp>
#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/log.hpp>
#include <braid/runtime/wait.hpp>

#include "core/process_registry.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace braid::process::detail {
namespace {

using registry::open_pidfd;  // pidfd_open's descriptors are always close-on-exec

}  // namespace

int decode_wait_status(int wstatus) noexcept {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return -WTERMSIG(wstatus);
  return wstatus;
}

ChildWatch::ChildWatch(pid_t pid) : pid_(pid), pidfd_(open_pidfd(pid)) {}

ChildWatch::ChildWatch(ChildWatch&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      status_(other.status_) {}

ChildWatch& ChildWatch::operator=(ChildWatch&& other) noexcept {
  if (this != &other) {
    this->~ChildWatch();
    new (this) ChildWatch(std::move(other));
  }
  return *this;
}

ChildWatch::~ChildWatch() {
  if (pid_ > 0 && !status_) {
    if (!poll()) reap_in_background(pid_);
  }
  close_pidfd();
}

void ChildWatch::close_pidfd() noexcept {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

void ChildWatch::reap(int wstatus) noexcept {
  status_ = decode_wait_status(wstatus);
  close_pidfd();
}

std::optional<int> ChildWatch::poll() {
  if (status_ || pid_ <= 0) return status_;
  int wstatus = 0;
  const pid_t r = braid::detail::sys::waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_) {
    reap(wstatus);
  } else if (r < 0 && errno == ECHILD) {
    // Someone else reaped it (a foreign SIGCHLD handler or waitpid(-1)); report it as
    // exited with an unknown status rather than waiting forever.
    braid::detail::log().warn("child {} was reaped elsewhere; its exit status is unknown", pid_);
    status_ = 255;
    close_pidfd();
  }
  return status_;
}

std::optional<int> ChildWatch::wait(std::optional<Duration> timeout) {
  if (poll()) return status_;
  const auto until = timeout ? std::optional(braid::detail::Clock::now() + *timeout) : std::nullopt;
  auto remaining = [&]() -> std::optional<Duration> {
    if (!until) return std::nullopt;
    return std::max(Duration::zero(), *until - braid::detail::Clock::now());
  };
  Duration backoff = std::chrono::milliseconds(1);
  for (;;) {  // the child was running at the last poll(): wait before asking again
    if (until && braid::detail::Clock::now() >= *until) return std::nullopt;
    if (pidfd_ >= 0) {
      // A pidfd becomes readable when the child exits.
      try {
        braid::wait_readable(pidfd_, remaining());
      } catch (const TimeoutError& e) {
        if (e.source() != nullptr) throw;  // an enclosing Timeout, not ours
        return poll();
      }
    } else {
      auto step = backoff;
      if (auto left = remaining()) step = std::min(step, *left);
      braid::sleep(step);
      backoff = std::min<Duration>(backoff * 2, std::chrono::milliseconds(20));
    }
    if (poll()) return status_;
  }
}

bool ChildWatch::send_signal(int sig) noexcept {
  if (pid_ <= 0 || status_) return false;
#if defined(SYS_pidfd_send_signal)
  if (pidfd_ >= 0) return ::syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) == 0;
#endif
  return ::kill(pid_, sig) == 0;
}

// ---- the background reaper ----
namespace {

class Reaper {
 public:
  void add(pid_t pid) {
    int fd = open_pidfd(pid);
    std::lock_guard lock(mutex_);
    pending_.push_back({pid, fd});
    if (!started_) {
      started_ = true;
      std::thread([this] { loop(); }).detach();  // lives as long as the process
    }
    cv_.notify_one();
  }

 private:
  struct Entry {
    pid_t pid;
    int pidfd;
  };

  // Waits on every pidfd with poll(2) (waking every 100 ms to pick up new entries, and
  // to poll children that have no pidfd), and reaps what exited.
  void loop() {
    std::vector<Entry> mine;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !pending_.empty() || !mine.empty(); });
        for (auto& e : pending_) mine.push_back(e);
        pending_.clear();
      }
      std::vector<pollfd> fds;
      for (auto& e : mine) {
        if (e.pidfd >= 0) fds.push_back({e.pidfd, POLLIN, 0});
      }
      ::poll(fds.data(), fds.size(), 100);
      std::erase_if(mine, [](Entry& e) {
        int wstatus = 0;
        const pid_t r = braid::detail::sys::waitpid(e.pid, &wstatus, WNOHANG);
        if (r == 0) return false;
        if (e.pidfd >= 0) ::close(e.pidfd);
        return true;
      });
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Entry> pending_;
  bool started_ = false;
};

// Never destroyed: its thread may outlive main(). Made on first use, so a forked child
// that never hands a child to it does not build one (see reset_reaper_after_fork).
std::atomic<Reaper*> g_reaper{nullptr};

Reaper& reaper() {
  Reaper* r = g_reaper.load(std::memory_order_acquire);
  if (r != nullptr) return *r;
  auto fresh = std::make_unique<Reaper>();
  if (g_reaper.compare_exchange_strong(r, fresh.get(), std::memory_order_acq_rel)) {
    return *fresh.release();
  }
  return *r;  // another thread made one first; ours (never started) is dropped
}

}  // namespace

void reap_in_background(pid_t pid) noexcept {
  try {
    reaper().add(pid);
  } catch (...) {
    // Out of memory or threads: the child is reaped when this process exits.
  }
}

// The parent's reaper (its thread is not in the child, its lock may be held) is leaked.
void reset_reaper_after_fork() noexcept { g_reaper.store(nullptr, std::memory_order_release); }

}  // namespace braid::process::detail
