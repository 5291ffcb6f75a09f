// The part of a Pool that is not a template: worker processes, the dispatcher that feeds
// them, and the bookkeeping of jobs in flight. Pool's templates encode requests and build
// sinks; everything else happens in process/src/pool/*.cpp.
#pragma once

#include <braid/process/detail/pool_result.hpp>
#include <braid/runtime/detail/wait_queue.hpp>
#include <braid/runtime/hub.hpp>

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace braid {
template <class T>
class Task;
}

namespace braid::process::detail {

/// One unit of work for one worker: an apply, or one chunk of a map.
struct Job {
  std::uint64_t id = 0;
  std::shared_ptr<Sink> sink;      // where the reply goes
  std::uint32_t part = 0;          // chunk index within the sink
  std::vector<std::byte> request;  // the encoded frame; moved out when queued on a worker
};

/// Worker settings, fixed at construction.
struct PoolConfig {
  unsigned processes = 1;
  void (*initializer)() = nullptr;
  std::size_t maxtasksperchild = 0;  // 0 = unlimited
};

/// The jobs submitted and not yet queued on a worker, in order. A map's chunks arrive as
/// one vector and are kept as that batch: submitting 400,000 chunks is not 400,000 moves
/// in one go while the hub waits.
class JobQueue {
 public:
  bool empty() const noexcept { return batches_.empty(); }
  Job& front() noexcept { return batches_.front().jobs[batches_.front().head]; }
  void pop_front() noexcept {
    Batch& b = batches_.front();
    b.jobs[b.head] = Job{};  // release the sink now, not when the batch is done
    if (++b.head == b.jobs.size()) batches_.pop_front();
  }
  void push_back(Job job) {
    if (batches_.empty() || batches_.back().jobs.size() >= kSmallBatch) {
      batches_.emplace_back();
      batches_.back().jobs.reserve(kSmallBatch);
    }
    batches_.back().jobs.push_back(std::move(job));
  }
  void push_back(std::vector<Job> jobs) {
    if (!jobs.empty()) batches_.push_back(Batch{std::move(jobs), 0});
  }
  void push_front(Job job) {
    if (!batches_.empty() && batches_.front().head > 0) {
      Batch& b = batches_.front();
      b.jobs[--b.head] = std::move(job);
    } else {
      batches_.emplace_front();
      batches_.front().jobs.push_back(std::move(job));
    }
  }
  /// Removes the jobs that report to `sink`, keeping the others in order; returns how
  /// many went.
  std::size_t erase_sink(const Sink* sink) noexcept {
    std::size_t n = 0;
    for (auto b = batches_.begin(); b != batches_.end();) {
      const auto first = b->jobs.begin() + static_cast<std::ptrdiff_t>(b->head);
      const auto kept = std::remove_if(first, b->jobs.end(),
                                       [sink](const Job& j) { return j.sink.get() == sink; });
      n += static_cast<std::size_t>(b->jobs.end() - kept);
      b->jobs.erase(kept, b->jobs.end());
      if (b->head == b->jobs.size()) {
        b = batches_.erase(b);
      } else {
        ++b;
      }
    }
    return n;
  }
  /// Empties the queue, returning what it held in order.
  std::deque<Job> take_all() {
    std::deque<Job> out;
    for (Batch& b : batches_) {
      for (std::size_t i = b.head; i < b.jobs.size(); ++i) out.push_back(std::move(b.jobs[i]));
    }
    batches_.clear();
    return out;
  }

 private:
  static constexpr std::size_t kSmallBatch = 64;  // single submits share a batch up to this
  struct Batch {
    std::vector<Job> jobs;
    std::size_t head = 0;  // jobs before it were taken
  };
  std::deque<Batch> batches_;
};

class Slot;

class PoolCore {
 public:
  /// Forks the workers; std::system_error when none can be started.
  explicit PoolCore(PoolConfig cfg);
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  /// terminate() unless already joined or terminated.
  ~PoolCore();

  /// std::logic_error unless the pool accepts work from the caller (not closed, same
  /// process and thread as its creator). `op` names the call in the message.
  void check_open(const char* op) const;
  std::uint64_t next_id() noexcept { return next_id_++; }
  /// Queues jobs and hands them to workers with room. Never parks.
  void submit(Job job);
  void submit(std::vector<Job> jobs);
  /// Routes a decided sink: straight to publish(), or through the callback coroutine.
  void settle(std::shared_ptr<Sink> sink);
  /// An empty buffer for a request frame of about `size` bytes: one a finished job gave
  /// back (see recycle) when it is large enough, else a new one.
  std::vector<std::byte> take_buffer(std::size_t size);
  /// Keeps a finished job's request buffer for the next frames, up to kRecycledBytes in
  /// all: a map of small chunks then reuses warm memory instead of allocating, faulting
  /// in and freeing every frame.
  void recycle(std::vector<std::byte>&& buf) noexcept;

  void close() noexcept;
  void join();
  void terminate() noexcept;
  /// An imap stream may still submit its input's next chunks: called from the creator's
  /// process and thread, and neither joined nor terminated (a closed pool still finishes
  /// the streams it accepted, as Python's task handler does).
  bool feeding() const noexcept;

  unsigned processes() const noexcept { return cfg_.processes; }
  const PoolConfig& config() const noexcept { return cfg_; }
  /// Pids of the live workers (for tests and diagnostics).
  std::vector<pid_t> pids() const;

  // ---- for the slots (process/src/pool/pool_slot.cpp)
  enum class State { running, closed, joining, done };
  State state() const noexcept { return state_; }
  /// Moves queued jobs to workers with room and starts their writes. Never parks.
  void pump();
  /// A reply arrived for `job` (status and the archive positioned at its body).
  void complete(Job& job, std::uint8_t status, InArchive& in);
  /// A worker reports how long a task ran (it sets how deep to pipeline).
  void note_run_time(std::chrono::nanoseconds t) noexcept;
  /// `job` will never get a reply.
  void fail(Job& job, std::exception_ptr e);
  /// Puts jobs that never reached a worker back at the head of the queue.
  void requeue_front(std::deque<Job> jobs);
  /// Slot asks whether to start (another) worker process.
  bool wants_workers() const noexcept;
  /// Fork failures with no live worker fail the queue rather than leave it waiting.
  void on_start_failure(std::exception_ptr e);
  /// Drops the jobs of `sink` that no worker has received yet (an imap stream whose
  /// consumer went away: nobody will read their results).
  void cancel_queued(const Sink* sink) noexcept;
  /// A supervisor coroutine is being killed by someone other than terminate()/join()
  /// (the hub's destruction): tears the pool down without parking.
  void on_supervisor_killed() noexcept;
  /// on_supervisor_killed() tore the pool down.
  bool abandoned() const noexcept { return abandoned_; }

 private:
  std::size_t pipeline_depth() const noexcept;
  void job_finished() noexcept;
  void run_callbacks();
  void stop_coroutines() noexcept;
  /// Fails every job without a reply; `release_workers`: the slots also drop their
  /// worker records (not while their supervisors may be parked on them).
  void fail_unfinished(const std::string& why, bool release_workers) noexcept;
  bool idle() const noexcept;

  PoolConfig cfg_;
  Hub* hub_;                       // the creator's hub: all work happens there
  unsigned long fork_generation_;  // the creator process (see pool_core.cpp)
  State state_ = State::running;
  bool terminated_ = false;                      // terminate() ran
  bool abandoned_ = false;                       // on_supervisor_killed() ran
  std::uint64_t next_id_ = 1;                    // 0 is never a job
  std::vector<std::shared_ptr<Slot>> slots_;     // one per worker, reused across generations
  JobQueue backlog_;                             // submitted, not yet queued on a worker
  std::size_t outstanding_ = 0;                  // submitted jobs without a reply yet
  double run_time_ns_ = -1;                      // average task run time; < 0: none seen
  std::deque<std::shared_ptr<Sink>> callbacks_;  // decided, waiting for their callback
  bool callback_running_ = false;
  std::unique_ptr<Task<void>> callback_task_;  // runs callbacks_, spawned on first use
  WaitQueue callback_wake_;                    // the callback coroutine, parked when idle
  WaitQueue idle_waiters_;                     // join(), parked until nothing is in flight
  std::vector<std::vector<std::byte>> spare_;  // recycled request buffers, most recent last
  std::size_t spare_bytes_ = 0;                // their capacities, summed
};

}  // namespace braid::process::detail
