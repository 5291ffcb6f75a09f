// Pool internals shared by pool_core.cpp, pool_slot.cpp and pool_worker.cpp.
#pragma once

#include <braid/coro/event.hpp>
#include <braid/coro/task.hpp>
#include <braid/process/detail/child_exit.hpp>
#include <braid/process/detail/pool_core.hpp>
#include <braid/process/detail/shared_state.hpp>
#include <braid/runtime/detail/wait_queue.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace braid::process {
enum class LostTaskState : unsigned char;  // pool.hpp
}

namespace braid::process::detail {

/// Tasks a worker may hold at once. Quick tasks are pipelined (the next one waits in the
/// worker's socket, so it starts without a round trip); slow ones are not, because a task
/// queued behind a slow one could have run on a worker that became idle meanwhile.
inline constexpr std::size_t kPipelineDepth = 4;
/// Tasks averaging less than this are "quick". Until a reply has told us, tasks are slow.
inline constexpr std::chrono::nanoseconds kQuickTaskTime{1'000'000};

/// Request buffers a pool keeps for reuse (PoolCore::recycle): none larger than
/// kRecycledFrame, at most kRecycledBytes in all.
inline constexpr std::size_t kRecycledFrame = std::size_t{256} << 10;
inline constexpr std::size_t kRecycledBytes = std::size_t{8} << 20;

/// How long the parent and the workers poll for a reply / the next task before sleeping.
/// Read once from BRAID_POOL_SPIN_US (microseconds) for measurements; see
/// docs/benchmarks-pool.md for why the default is what it is.
std::chrono::nanoseconds pool_spin() noexcept;

// ---- Descriptors every worker must drop: the parent's ends of all pools' sockets. A
// worker holding a sibling's socket would keep that sibling from seeing EOF at close.
void register_pool_fd(int fd);
void unregister_pool_fd(int fd) noexcept;
std::vector<int> pool_fds();

/// Demangled type and what() of the exception being handled (inside a catch block).
std::pair<std::string, std::string> describe_current_exception();

/// What a worker tells its parent without a system call, in a page they share: how many
/// tasks it has started and finished. Its replies are batched, so when it dies these are
/// what say which of the tasks it held ran, and whether the rest ever started.
struct WorkerProgress {
  std::atomic<std::uint64_t> started{0};   // tasks whose function was entered
  std::atomic<std::uint64_t> finished{0};  // tasks whose reply was complete (maybe unsent)
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "shared with another process");

/// The child side: runs tasks read from `fd` until EOF, then _exit. Never returns.
[[noreturn]] void worker_main(int fd, const PoolConfig& cfg, pid_t parent,
                              const std::vector<int>& inherited, WorkerProgress* progress) noexcept;

/// One worker process as the parent sees it (one generation of a Slot).
struct Proc {
  Proc(pid_t pid_, int fd_, boost::asio::io_context& ctx,
       std::unique_ptr<SharedMapping> progress_page);

  pid_t pid;
  ChildWatch watch;                            // its exit, through a pidfd
  boost::asio::posix::stream_descriptor desc;  // our end, registered once with the reactor
  int fd;                                      // desc's descriptor
  std::unique_ptr<SharedMapping> page;         // holds *progress
  const WorkerProgress* progress;              // written by the worker
  // Queued on it, in reply order. Each keeps its request frame until its reply, so a task
  // the worker received but never started can go back to the queue if the worker dies.
  std::deque<Job> inflight;
  std::size_t unsent = 0;      // the last `unsent` of inflight are not fully written yet
  std::size_t out_offset = 0;  // bytes of the first of them already written
  std::uint64_t replied = 0;   // replies received (compared with progress->finished)
  std::size_t budget;          // tasks it may still be sent
  bool write_failed = false;   // EPIPE and the like: it is going away
  bool dead = false;           // being buried: take no more work
  std::vector<std::byte> in;   // replies read, [in_begin, in_end) unparsed
  std::size_t in_begin = 0;
  std::size_t in_end = 0;
};

/// A worker slot: supervises successive worker processes (fork, read replies, bury,
/// replace), with a writer coroutine that writes the rest of the requests when the socket
/// is full.
class Slot {
 public:
  Slot(PoolCore& core, unsigned index);
  ~Slot();

  /// Spawns the slot's coroutines; started() is set once the first fork was tried.
  void start();
  Event& started() noexcept { return started_; }
  std::exception_ptr start_error() const noexcept { return start_error_; }

  /// Room for another job now.
  bool accepting() const noexcept;
  std::size_t load() const noexcept { return proc_ ? proc_->inflight.size() : 0; }
  /// Queues `job` on the current worker (the dispatcher chose it). Never parks.
  void enqueue(Job job);
  /// Writes what the socket takes now; the writer coroutine finishes the rest.
  void kick() noexcept;

  /// join(): let the worker go once it is idle; the supervisor then ends.
  void stop() noexcept;
  Task<void>& supervisor() noexcept { return supervisor_; }
  /// terminate(): ends the coroutines (not the calling one), SIGKILLs and reaps the
  /// worker and returns every job it held.
  void kill_coroutines() noexcept;
  void kill_process() noexcept;
  void reap_process() noexcept;
  /// As reap_process, without waiting: the ChildWatch hands the worker to the
  /// background reaper. For a teardown that may not park.
  void drop_process() noexcept;
  /// The jobs the worker holds; with `release`, the worker record goes too.
  std::deque<Job> take_jobs(bool release) noexcept;
  pid_t pid() const noexcept { return proc_ && !proc_->dead ? proc_->pid : -1; }

 private:
  enum class Outcome { idle_exit, eof, protocol_error };
  enum class Flush { done, would_block, failed };
  // How far a dead worker got with the jobs it held (see assess_loss).
  struct Loss {
    std::size_t received = 0;   // jobs whose frame it was sent in full
    std::size_t completed = 0;  // of those, finished but not replied to
    std::size_t running = 0;    // of those, started but not finished (0 or 1)
    bool progressed = false;    // it started at least one task in its life
  };

  void supervise();
  void supervise_loop();
  void write_loop();
  void start_process();
  Outcome serve();
  bool spin_for_reply(Proc& p, std::chrono::nanoseconds spin);
  bool handle_frames(Proc& p);
  bool handle_reply(Proc& p, std::span<const std::byte> payload);
  void bury(Outcome o);
  Loss assess_loss(const Proc& p) const noexcept;
  static std::size_t first_unsent(const Proc& p) noexcept { return p.inflight.size() - p.unsent; }
  void make_room(Proc& p, std::size_t frame_size);
  Flush flush(Proc& p) noexcept;
  std::string describe_loss(const Proc& p, std::optional<int> status, Outcome o,
                            const std::vector<std::pair<Job, LostTaskState>>& lost,
                            std::size_t requeued) const;

  PoolCore& core_;
  unsigned index_;                  // position in the pool, for names
  std::shared_ptr<Proc> proc_;      // the current worker, null between generations
  Task<void> supervisor_;           // forks, reads replies, buries, replaces
  Task<void> writer_;               // waits for room in the socket when it is full
  WaitQueue reader_wake_;           // supervisor parked while its worker is idle
  WaitQueue writer_wake_;           // writer parked while nothing is left to write
  Event started_;                   // first fork attempt done
  std::exception_ptr start_error_;  // why the last fork failed
  bool stopping_ = false;           // join(): no more workers in this slot
};

}  // namespace braid::process::detail
