// The dispatcher: the queue of jobs, which worker gets the next one, what happens to a
// reply, callbacks, and the pool's lifecycle (close, join, terminate).
#include "pool_internal.hpp"
#include "pool_reply_codec.hpp"

#include <braid/process/pool.hpp>
#include <braid/runtime/log.hpp>

#include <fmt/format.h>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace braid::process::detail {
namespace {

// Bumped in every forked child, so a Pool copied into a child (a worker, or a Process
// started while the pool exists) knows it does not own the workers it sees.
std::atomic<unsigned long> g_fork_generation{0};

void bump_fork_generation() noexcept { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

unsigned long fork_generation() {
  static std::once_flag once;
  std::call_once(once, [] { ::pthread_atfork(nullptr, nullptr, bump_fork_generation); });
  return g_fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

PoolCore::PoolCore(PoolConfig cfg)
    : cfg_(cfg), hub_(&Hub::current()), fork_generation_(fork_generation()) {
  if (cfg_.processes == 0) throw std::invalid_argument("Pool: processes must be at least 1");
  slots_.reserve(cfg_.processes);
  for (unsigned i = 0; i < cfg_.processes; ++i) slots_.push_back(std::make_shared<Slot>(*this, i));
  for (auto& s : slots_) s->start();
  try {
    for (auto& s : slots_) s->started().wait();
  } catch (...) {
    terminate();  // killed or timed out while the workers were being forked
    throw;
  }
  std::exception_ptr error;
  for (auto& s : slots_) {
    if (s->pid() > 0) return;  // at least one worker: the others keep retrying
    if (!error) error = s->start_error();
  }
  terminate();
  if (error) std::rethrow_exception(error);
  throw std::runtime_error("Pool: no worker could be started");
}

PoolCore::~PoolCore() { terminate(); }

void PoolCore::check_open(const char* op) const {
  if (g_fork_generation.load(std::memory_order_relaxed) != fork_generation_) {
    throw std::logic_error(
        fmt::format("{}: this Pool belongs to another process (it was copied here by fork)", op));
  }
  if (Hub::current_if_any() != hub_) {
    throw std::logic_error(fmt::format("{}: a Pool is used from the thread that created it", op));
  }
  if (state_ != State::running) {
    throw std::logic_error(fmt::format("{}: the pool is {}; no new tasks are accepted", op,
                                       terminated_ ? "terminated" : "closed"));
  }
}

bool PoolCore::feeding() const noexcept {
  return g_fork_generation.load(std::memory_order_relaxed) == fork_generation_ &&
         Hub::current_if_any() == hub_ && !terminated_ &&
         (state_ == State::running || state_ == State::closed);
}

void PoolCore::submit(Job job) {
  backlog_.push_back(std::move(job));
  ++outstanding_;
  pump();
}

void PoolCore::submit(std::vector<Job> jobs) {
  outstanding_ += jobs.size();
  backlog_.push_back(std::move(jobs));
  pump();
}

// Least-loaded first: an idle worker if there is one; a busy one only while tasks are
// quick (see kPipelineDepth).
void PoolCore::pump() {
  if (backlog_.empty()) return;
  Slot* touched[64];
  std::size_t ntouched = 0;
  bool overflow = false;
  while (!backlog_.empty()) {
    Slot* best = nullptr;
    std::size_t best_load = pipeline_depth();
    for (auto& s : slots_) {
      if (!s->accepting()) continue;
      const std::size_t load = s->load();
      if (load < best_load) {
        best = s.get();
        best_load = load;
        if (load == 0) break;
      }
    }
    if (best == nullptr) break;
    best->enqueue(std::move(backlog_.front()));
    backlog_.pop_front();
    bool seen = false;
    for (std::size_t i = 0; i < ntouched; ++i) seen = seen || touched[i] == best;
    if (!seen) {
      if (ntouched < std::size(touched)) {
        touched[ntouched++] = best;
      } else {
        overflow = true;
      }
    }
  }
  if (overflow) {
    for (auto& s : slots_) s->kick();
  } else {
    for (std::size_t i = 0; i < ntouched; ++i) touched[i]->kick();
  }
}

std::size_t PoolCore::pipeline_depth() const noexcept {
  return run_time_ns_ >= 0 && run_time_ns_ < static_cast<double>(kQuickTaskTime.count())
             ? kPipelineDepth
             : 1;
}

// An exponential moving average (weight 1/4) of how long tasks run in the workers.
void PoolCore::note_run_time(std::chrono::nanoseconds t) noexcept {
  const auto ns = static_cast<double>(t.count());
  run_time_ns_ = run_time_ns_ < 0 ? ns : 0.75 * run_time_ns_ + 0.25 * ns;
}

void PoolCore::complete(Job& job, std::uint8_t status, InArchive& in) {
  std::exception_ptr err;
  bool decided = false;
  if (status == kReplyOk) {
    try {
      decided = job.sink->deliver(job.part, in);
    } catch (const std::exception& e) {
      err = std::make_exception_ptr(
          FrameError(fmt::format("Pool: a task's result did not decode: {}", e.what())));
    }
  } else {
    auto [type, what] = read_reply_error(in);
    if (status == kReplyInitFailed) {
      err = std::make_exception_ptr(
          RemoteError(fmt::format("the worker's initializer raised {}: {}", type, what)));
    } else {
      err = std::make_exception_ptr(RemoteError(type, what));
    }
  }
  if (err) decided = job.sink->fail(job.part, err);
  if (decided) settle(job.sink);
  job_finished();
}

void PoolCore::fail(Job& job, std::exception_ptr e) {
  if (job.sink->fail(job.part, std::move(e))) settle(job.sink);
  job_finished();
}

std::vector<std::byte> PoolCore::take_buffer(std::size_t size) {
  std::vector<std::byte> b;
  if (!spare_.empty() && spare_.back().capacity() >= size) {
    b = std::move(spare_.back());
    spare_.pop_back();
    spare_bytes_ -= b.capacity();
  }
  b.reserve(size);
  return b;
}

void PoolCore::recycle(std::vector<std::byte>&& buf) noexcept {
  const std::size_t cap = buf.capacity();
  if (cap == 0 || cap > kRecycledFrame || spare_bytes_ + cap > kRecycledBytes) return;
  try {
    spare_.push_back(std::move(buf));
  } catch (...) {
    return;  // out of memory for the list: the buffer is simply freed
  }
  spare_.back().clear();
  spare_bytes_ += cap;
}

void PoolCore::cancel_queued(const Sink* sink) noexcept {
  const std::size_t n = backlog_.erase_sink(sink);
  outstanding_ -= std::min(n, outstanding_);
  if (n > 0 && idle()) idle_waiters_.notify_all();
}

void PoolCore::requeue_front(std::deque<Job> jobs) {
  while (!jobs.empty()) {
    backlog_.push_front(std::move(jobs.back()));
    jobs.pop_back();
  }
}

bool PoolCore::wants_workers() const noexcept {
  return !terminated_ && (state_ == State::running || state_ == State::closed);
}

void PoolCore::on_start_failure(std::exception_ptr e) {
  for (auto& s : slots_) {
    if (s->pid() > 0) return;  // another worker will take the queue
  }
  std::deque<Job> jobs = backlog_.take_all();
  for (Job& j : jobs) fail(j, e);
}

void PoolCore::job_finished() noexcept {
  if (outstanding_ > 0) --outstanding_;
  if (idle()) idle_waiters_.notify_all();
}

bool PoolCore::idle() const noexcept {
  return outstanding_ == 0 && callbacks_.empty() && !callback_running_;
}

// ---- callbacks: in one coroutine, in the order results were decided

void PoolCore::settle(std::shared_ptr<Sink> sink) {
  if (!sink->needs_callback() || terminated_) {
    sink->drop_callbacks();
    sink->publish();
    return;
  }
  callbacks_.push_back(std::move(sink));
  if (!callback_task_) {
    callback_task_ = std::make_unique<Task<void>>(
        braid::spawn(SpawnOptions{"pool-callbacks", 0}, [this] { run_callbacks(); }));
  }
  callback_wake_.notify_one();
}

void PoolCore::run_callbacks() {
  while (!terminated_) {
    if (callbacks_.empty()) {
      callback_wake_.wait(std::nullopt, braid::detail::WaitInfo{"Pool callbacks idle"});
      continue;
    }
    Hub::current().cooperate();  // thousands of results may be waiting for their callbacks
    std::shared_ptr<Sink> s = std::move(callbacks_.front());
    callbacks_.pop_front();
    callback_running_ = true;
    try {
      s->publish();
    } catch (...) {
      callback_running_ = false;
      throw;  // GreenletExit: the pool is going away
    }
    callback_running_ = false;
    if (idle()) idle_waiters_.notify_all();
  }
}

// ---- lifecycle

void PoolCore::close() noexcept {
  if (state_ == State::running) state_ = State::closed;
}

void PoolCore::join() {
  if (state_ == State::running) {
    throw std::logic_error("Pool::join: call close() or terminate() first");
  }
  if (terminated_ || state_ == State::done) return;
  while (!idle()) idle_waiters_.wait(std::nullopt, braid::detail::WaitInfo{"Pool.join"});
  if (state_ == State::done) return;  // another coroutine joined meanwhile
  state_ = State::joining;
  for (auto& s : slots_) s->stop();
  for (auto& s : slots_) s->supervisor().join();
  state_ = State::done;
  stop_coroutines();
}

void PoolCore::stop_coroutines() noexcept {
  for (auto& s : slots_) s->kill_coroutines();
  if (callback_task_ && !callback_task_->ready() &&
      callback_task_->state_ptr().get() != &braid::detail::Scheduling::running(Hub::current())) {
    try {
      callback_task_->kill(true);
    } catch (...) {
      // Only a kill of the caller itself lands here.
    }
  }
}

void PoolCore::terminate() noexcept {
  if (terminated_) return;
  if (g_fork_generation.load(std::memory_order_relaxed) != fork_generation_) {
    terminated_ = true;  // a copy in a forked child: the workers are not ours to kill
    return;
  }
  terminated_ = true;
  const bool was_done = state_ == State::done;
  state_ = State::done;
  if (!was_done) stop_coroutines();
  for (auto& s : slots_) s->kill_process();
  for (auto& s : slots_) s->reap_process();
  fail_unfinished("Pool: terminated before the task finished", true);
}

// A slot's supervisor was killed, not by terminate() or join(): the hub is being
// destroyed (thread exit, Hub::uninstall, a Pool with static storage duration outliving
// main) or someone killed the pool's coroutine. Nothing here parks or needs the hub
// after this returns: the workers are SIGKILLed and left to the background reaper, our
// ends of their sockets are closed now, while the reactor they are registered with still
// exists. Each supervisor drops its own worker record as it unwinds (Slot::supervise):
// the others may still be parked in a wait on theirs. ~Pool then finds the pool
// terminated.
void PoolCore::on_supervisor_killed() noexcept {
  if (terminated_ || state_ == State::done) return;
  terminated_ = true;
  abandoned_ = true;
  state_ = State::done;
  for (auto& s : slots_) s->kill_process();
  for (auto& s : slots_) s->drop_process();
  fail_unfinished(
      "Pool: its coroutines were killed (the hub was shutting down) before the "
      "task finished",
      false);
}

// Whatever has no reply yet never will: fail it (callbacks do not run any more).
void PoolCore::fail_unfinished(const std::string& why, bool release_workers) noexcept {
  std::deque<Job> jobs = backlog_.take_all();
  const std::size_t queued = jobs.size();  // these never reached a worker
  for (auto& s : slots_) {
    for (Job& j : s->take_jobs(release_workers)) jobs.push_back(std::move(j));
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Job& j = jobs[i];
    j.sink->drop_callbacks();
    const LostTaskState state = i < queued ? LostTaskState::not_started : LostTaskState::unknown;
    try {
      fail(j, std::make_exception_ptr(WorkerLostError(why, state)));
    } catch (...) {
      // publish() lets only GreenletExit through, and no callback runs here.
    }
  }
  for (auto& s : callbacks_) {
    s->drop_callbacks();
    try {
      s->publish();
    } catch (...) {
    }
  }
  callbacks_.clear();
  outstanding_ = 0;
  idle_waiters_.notify_all();
}

std::vector<pid_t> PoolCore::pids() const {
  std::vector<pid_t> out;
  for (const auto& s : slots_) {
    if (s->pid() > 0) out.push_back(s->pid());
  }
  return out;
}

std::chrono::nanoseconds pool_spin() noexcept {
  static const std::chrono::nanoseconds spin = [] {
    const char* v = std::getenv("BRAID_POOL_SPIN_US");
    const long us = v != nullptr ? std::strtol(v, nullptr, 10) : 0;
    return std::chrono::nanoseconds(std::max(0L, us) * 1000);
  }();
  return spin;
}

}  // namespace braid::process::detail
