// The parent's side of one worker: fork it, feed it, read its replies, notice its death,
// bury it and start the next one. All of it runs in the hub, in two coroutines per slot.
#include "pool_internal.hpp"
#include "pool_reply_codec.hpp"

#include <braid/coro/sleep.hpp>
#include <braid/process/pool.hpp>
#include <braid/runtime/detail/clock.hpp>
#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/log.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <istream>
#include <limits>
#include <system_error>

namespace braid::process::detail {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxIov = 64;
// The worker runs its tasks on the stack it was forked on: this coroutine's. Give it
// what a main thread gets; pages are committed only when touched.
constexpr std::size_t kSupervisorStack = std::size_t{8} << 20;
// A worker whose socket closed exits at once; one that lingers is killed after this.
constexpr auto kExitGrace = 300ms;
constexpr auto kForkRetry = 200ms;

// What the error of a lost task adds about that task.
const char* lost_task_text(LostTaskState s) noexcept {
  switch (s) {
    case LostTaskState::completed:
      return "this task had run to completion, but its result died with the worker";
    case LostTaskState::running:
      return "this task was running when the worker died: it may have run, in part or fully";
    case LostTaskState::not_started:
      return "this task had not started: retrying it repeats nothing";
    case LostTaskState::unknown:
      break;
  }
  return "this task may have run, in part or fully";
}

}  // namespace

Proc::Proc(pid_t pid_, int fd_, boost::asio::io_context& ctx,
           std::unique_ptr<SharedMapping> progress_page)
    : pid(pid_),
      watch(pid_),
      desc(ctx, fd_),
      fd(fd_),
      page(std::move(progress_page)),
      progress(static_cast<const WorkerProgress*>(page->data())) {}

Slot::Slot(PoolCore& core, unsigned index) : core_(core), index_(index) {}

Slot::~Slot() = default;

void Slot::start() {
  SpawnOptions sup{fmt::format("pool-worker-{}", index_), kSupervisorStack};
  supervisor_ = braid::spawn(std::move(sup), [this] { supervise(); });
  writer_ = braid::spawn(SpawnOptions{fmt::format("pool-writer-{}", index_), 0},
                         [this] { write_loop(); });
}

bool Slot::accepting() const noexcept {
  const Proc* p = proc_.get();
  return p != nullptr && !p->dead && !p->write_failed && p->budget > 0 && !stopping_;
}

void Slot::enqueue(Job job) {
  Proc& p = *proc_;
  p.inflight.push_back(std::move(job));
  ++p.unsent;
  if (p.budget != std::numeric_limits<std::size_t>::max()) --p.budget;
  if (p.inflight.size() == 1) reader_wake_.notify_one();
}

void Slot::kick() noexcept {
  if (proc_ && flush(*proc_) == Flush::would_block) writer_wake_.notify_one();
}

void Slot::stop() noexcept {
  stopping_ = true;
  reader_wake_.notify_one();
}

// ---- the supervisor coroutine

void Slot::supervise() {
  try {
    supervise_loop();
  } catch (const GreenletExit&) {
    core_.on_supervisor_killed();  // a no-op when terminate() is the killer
    // Torn down without terminate(): nothing on this stack refers to the worker record
    // any more, and it must go while the reactor its socket was registered with exists.
    if (core_.abandoned()) proc_.reset();
    throw;
  }
}

void Slot::supervise_loop() {
  while (core_.wants_workers() && !stopping_) {
    try {
      start_process();
    } catch (const std::exception& e) {
      start_error_ = std::current_exception();
      started_.set();
      braid::detail::log().error("Pool: cannot start worker {}: {}", index_, e.what());
      core_.on_start_failure(start_error_);
      braid::sleep(kForkRetry);
      continue;
    }
    start_error_ = nullptr;
    started_.set();
    core_.pump();
    bury(serve());
  }
  started_.set();
}

void Slot::start_process() {
  auto page = std::make_unique<SharedMapping>(sizeof(WorkerProgress));
  auto* progress = new (page->data()) WorkerProgress();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    throw std::system_error(errno, std::generic_category(), "Pool: socketpair");
  }
  const std::vector<int> inherited = pool_fds();
  const pid_t parent = ::getpid();
  // Buffered output would otherwise be written twice: by us and by the child.
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    worker_main(sv[1], core_.config(), parent, inherited, progress);
  }
  const int err = errno;
  ::close(sv[1]);
  if (pid < 0) {
    ::close(sv[0]);
    throw std::system_error(err, std::generic_category(), "Pool: fork");
  }
  std::shared_ptr<Proc> p;
  try {
    set_nonblocking(sv[0]);
    p = std::make_shared<Proc>(pid, sv[0], Hub::current().context(), std::move(page));
  } catch (...) {
    ::close(sv[0]);
    ::kill(pid, SIGKILL);
    reap_in_background(pid);
    throw;
  }
  register_pool_fd(sv[0]);
  const std::size_t max = core_.config().maxtasksperchild;
  p->budget = max == 0 ? std::numeric_limits<std::size_t>::max() : max;
  proc_ = std::move(p);
}

// Reads replies while the worker holds jobs; parks without any I/O registered while it
// holds none, so an idle pool never keeps the hub's loop alive.
Slot::Outcome Slot::serve() {
  Proc& p = *proc_;
  const auto spin = pool_spin();
  for (;;) {
    if (p.inflight.empty()) {
      if (p.budget == 0 || stopping_ || !core_.wants_workers()) return Outcome::idle_exit;
      reader_wake_.wait(std::nullopt, braid::detail::WaitInfo{"Pool worker idle", p.fd});
      continue;
    }
    make_room(p, 0);
    if (spin.count() > 0 && spin_for_reply(p, spin)) continue;
    // Asio reads speculatively only when the descriptor may have data (an edge came since
    // the last short read), so a reply that is not there yet costs no EAGAIN read.
    std::size_t n = 0;
    const boost::system::error_code ec = braid::detail::await_op(
        [&](auto handler) {
          p.desc.async_read_some(
              boost::asio::buffer(p.in.data() + p.in_end, p.in.size() - p.in_end),
              std::move(handler));
        },
        std::nullopt, braid::detail::WaitInfo{"Pool reply", p.fd}, &n);
    if (ec == boost::asio::error::interrupted || ec == boost::asio::error::try_again) continue;
    if (ec) return Outcome::eof;  // EOF, ECONNRESET, or our descriptor was closed
    p.in_end += n;
    if (!handle_frames(p)) return Outcome::protocol_error;
    core_.pump();
  }
}

// Polls for a reply for up to `spin`, letting other coroutines run in between; true when
// bytes arrived (or the worker closed: the next read reports it).
bool Slot::spin_for_reply(Proc& p, std::chrono::nanoseconds spin) {
  // The spin is a real-time budget; a test clock stands still, so it would never end.
  if (braid::detail::Clock::manual() != nullptr) return false;
  const auto until = braid::detail::Clock::now() + spin;
  do {
    const ssize_t r = braid::detail::sys::recv(p.fd, p.in.data() + p.in_end, p.in.size() - p.in_end,
                                               MSG_DONTWAIT);
    if (r > 0) {
      p.in_end += static_cast<std::size_t>(r);
      return handle_frames(p) ? (core_.pump(), true) : false;
    }
    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
    braid::yield_now();
  } while (braid::detail::Clock::now() < until);
  return false;
}

// Keeps room for the next read; `frame_size`: bytes the frame being read still lacks. The
// buffer grows with what arrives, never to what a header announces (frame_codec.hpp).
void Slot::make_room(Proc& p, std::size_t frame_size) {
  make_read_room(p.in, p.in_begin, p.in_end, frame_size);
}

bool Slot::handle_frames(Proc& p) {
  for (;;) {
    const std::size_t have = p.in_end - p.in_begin;
    if (have < kFrameHeaderSize) break;
    std::size_t n = 0;
    try {
      n = parse_frame_header(p.in.data() + p.in_begin, kDefaultMaxFrame);
    } catch (const FrameError& e) {
      braid::detail::log().error("Pool: worker {}: {}", p.pid, e.what());
      return false;
    }
    if (have < kFrameHeaderSize + n) {
      make_room(p, kFrameHeaderSize + n - have);
      break;
    }
    // One read can bring thousands of small replies, each decoded and delivered here.
    Hub::current().cooperate();
    const std::span<const std::byte> payload(p.in.data() + p.in_begin + kFrameHeaderSize, n);
    if (!handle_reply(p, payload)) return false;
    p.in_begin += kFrameHeaderSize + n;
  }
  trim_read_buffer(p.in, p.in_begin, p.in_end);  // a big frame's buffer is not kept
  return true;
}

bool Slot::handle_reply(Proc& p, std::span<const std::byte> payload) {
  ByteSource src(payload);
  InArchive ar(src);
  ReplyHead head;
  try {
    head = read_reply_head(ar);
  } catch (const std::exception& e) {
    braid::detail::log().error("Pool: worker {} sent an undecodable reply: {}", p.pid, e.what());
    return false;
  }
  const std::uint64_t id = head.id;
  if (p.inflight.empty() || p.inflight.front().id != id || p.unsent >= p.inflight.size()) {
    braid::detail::log().error("Pool: worker {} replied to job {}, which it does not hold", p.pid,
                               id);
    return false;
  }
  Job job = std::move(p.inflight.front());
  p.inflight.pop_front();
  ++p.replied;
  core_.note_run_time(head.run_time);
  core_.complete(job, head.status, ar);
  core_.recycle(std::move(job.request));
  return true;
}

// The worker is gone (or going): reap it, put back the jobs it never started, and fail
// the ones it did. The Proc stays visible (dead) until then, so terminate() can find it.
void Slot::bury(Outcome o) {
  Proc& p = *proc_;
  p.dead = true;
  unregister_pool_fd(p.fd);
  boost::system::error_code ec;
  p.desc.close(ec);  // EOF for the worker if it still reads; cancels the writer's wait
  std::optional<int> status = p.watch.wait(kExitGrace);
  if (!status) {
    p.watch.send_signal(SIGKILL);
    status = p.watch.wait(1s);
  }
  const Loss loss = assess_loss(p);
  std::deque<Job> again;  // back to the queue, in order
  std::vector<std::pair<Job, LostTaskState>> lost;
  for (std::size_t i = 0; i < p.inflight.size(); ++i) {
    Job& j = p.inflight[i];
    if (i < loss.completed) {
      lost.emplace_back(std::move(j), LostTaskState::completed);
    } else if (i < loss.completed + loss.running) {
      lost.emplace_back(std::move(j), LostTaskState::running);
    } else if (i < loss.received && !status) {
      // Not reaped even after SIGKILL: it may still start them. Never run a task twice.
      lost.emplace_back(std::move(j), LostTaskState::unknown);
    } else if (i < loss.received && !loss.progressed) {
      lost.emplace_back(std::move(j), LostTaskState::not_started);
    } else {
      again.push_back(std::move(j));
    }
  }
  p.inflight.clear();
  p.unsent = 0;
  std::string why;
  if (!lost.empty()) why = describe_loss(p, status, o, lost, again.size());
  std::shared_ptr<Proc> keep = std::move(proc_);  // destroyed at the end of this call
  if (!again.empty()) core_.requeue_front(std::move(again));
  for (auto& [j, state] : lost) {
    core_.fail(j, std::make_exception_ptr(WorkerLostError(why + lost_task_text(state), state)));
  }
  core_.pump();
}

// Of the jobs the worker held, in order: those whose frame it received in full, of which
// the first `completed` had finished (their replies were batched and died with it) and the
// next `running` had started. The others never began: a frame not fully written cannot
// have been read, and the progress page counts every task the worker entered.
Slot::Loss Slot::assess_loss(const Proc& p) const noexcept {
  Loss l;
  l.received = first_unsent(p);
  const std::uint64_t started = p.progress->started.load(std::memory_order_acquire);
  const std::uint64_t finished = p.progress->finished.load(std::memory_order_acquire);
  const auto clamp = [](std::uint64_t v, std::size_t max) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(v, max));
  };
  l.completed = clamp(finished > p.replied ? finished - p.replied : 0, l.received);
  l.running = clamp(started > finished ? started - finished : 0, l.received - l.completed);
  // A worker that started nothing (an initializer that crashed, a kill right after fork)
  // would die the same way again: putting its jobs back could go on forever, so they fail.
  l.progressed = started > 0;
  return l;
}

std::string Slot::describe_loss(const Proc& p, std::optional<int> status, Outcome o,
                                const std::vector<std::pair<Job, LostTaskState>>& lost,
                                std::size_t requeued) const {
  std::string how;
  if (o == Outcome::protocol_error) {
    how = "broke the reply protocol and was killed";
  } else if (!status) {
    how = "closed its socket but would not exit";
  } else if (*status < 0) {
    const char* name = ::sigabbrev_np(-*status);
    how = fmt::format("was killed by signal {} (SIG{})", -*status, name ? name : "?");
  } else {
    how = fmt::format("exited with status {}", *status);
  }
  std::string parts;
  const auto add = [&](LostTaskState s, const char* what) {
    const auto n = std::count_if(lost.begin(), lost.end(), [s](auto& l) { return l.second == s; });
    if (n == 0) return;
    parts += fmt::format("{}{} {}", parts.empty() ? ": " : ", ", n, what);
  };
  add(LostTaskState::completed, "had completed but its result died with the worker");
  add(LostTaskState::running, "was running");
  add(LostTaskState::unknown, "may have started");
  add(LostTaskState::not_started, "had not started (the worker never started a task)");
  std::string again;
  if (requeued > 0) again = fmt::format("; {} it had not started went back to the queue", requeued);
  return fmt::format("Pool worker {} {} before replying ({} task(s) lost{}{}); ", p.pid, how,
                     lost.size(), parts, again);
}

// ---- writing

Slot::Flush Slot::flush(Proc& p) noexcept {
  while (p.unsent > 0) {
    iovec iov[kMaxIov];
    std::size_t cnt = 0;
    for (std::size_t i = first_unsent(p); i < p.inflight.size() && cnt < kMaxIov; ++i, ++cnt) {
      std::vector<std::byte>& frame = p.inflight[i].request;
      const std::size_t off = cnt == 0 ? p.out_offset : 0;
      iov[cnt].iov_base = frame.data() + off;
      iov[cnt].iov_len = frame.size() - off;
    }
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = cnt;
    const ssize_t r = braid::detail::sys::sendmsg(p.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Flush::would_block;
      p.write_failed = true;  // the worker is gone: serve() sees EOF and buries it
      return Flush::failed;
    }
    auto n = static_cast<std::size_t>(r);
    while (n > 0) {
      const std::size_t left = p.inflight[first_unsent(p)].request.size() - p.out_offset;
      if (n < left) {
        p.out_offset += n;
        break;
      }
      n -= left;
      --p.unsent;
      p.out_offset = 0;
    }
  }
  return Flush::done;
}

void Slot::write_loop() {
  for (;;) {
    std::shared_ptr<Proc> p = proc_;
    if (!p || p->dead || p->write_failed || p->unsent == 0) {
      writer_wake_.wait(std::nullopt, braid::detail::WaitInfo{"Pool writer idle"});
      continue;
    }
    if (flush(*p) == Flush::would_block) {
      // Aborted waits (the descriptor was closed while we waited) and errors need no
      // handling here: the next write finds out what happened.
      (void)braid::detail::await_ready(p->desc, true, std::nullopt,
                                       braid::detail::WaitInfo{"Pool request", p->fd});
    }
  }
}

// ---- terminate()

void Slot::kill_coroutines() noexcept {
  const void* self = &braid::detail::Scheduling::running(Hub::current());
  for (Task<void>* t : {&supervisor_, &writer_}) {
    if (!t->valid() || t->ready() || t->state_ptr().get() == self) continue;
    try {
      t->kill(true);
    } catch (...) {
      // Only a kill of the caller itself lands here; the task is dying anyway.
    }
  }
}

void Slot::kill_process() noexcept {
  if (proc_) proc_->watch.send_signal(SIGKILL);
}

void Slot::drop_process() noexcept {
  if (!proc_) return;
  Proc& p = *proc_;
  if (p.dead) return;
  p.dead = true;
  unregister_pool_fd(p.fd);
  boost::system::error_code ec;
  p.desc.close(ec);
}

void Slot::reap_process() noexcept {
  if (!proc_) return;
  Proc& p = *proc_;
  drop_process();
  try {
    (void)p.watch.wait(2s);
  } catch (...) {
    // Interrupted: the ChildWatch hands the child to the background reaper instead.
  }
}

std::deque<Job> Slot::take_jobs(bool release) noexcept {
  std::deque<Job> jobs;
  if (proc_) {
    jobs = std::move(proc_->inflight);
    proc_->inflight.clear();
    proc_->unsent = 0;
  }
  if (release) proc_.reset();
  return jobs;
}

}  // namespace braid::process::detail
