// braid's thread pool for blocking calls: Asio's thread_pool (its queue, wake-ups and
// worker loop) with threads attached lazily, one more whenever every started thread is
// busy, up to kMaxThreads, so a program that never blocks starts none and one that
// blocks once starts one. Queued jobs finish before the process exits. Results reach the
// caller's hub through its mailbox, which drops them if that hub is gone.
#include <braid/runtime/thread.hpp>

#include <braid/runtime/log.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace braid::detail {
namespace {

constexpr std::size_t kMaxThreads = 4;

class ThreadPool {
 public:
  ~ThreadPool() {
    // wait() drops the pool's own hold on the scheduler: each attached thread returns
    // from attach() once the queue is empty, after every queued job has run. (The
    // destructor of thread_pool alone would stop it and abandon queued jobs.)
    pool_.wait();
    for (auto& t : threads_) t.join();
  }

  void submit(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (busy_.load(std::memory_order_relaxed) >= threads_.size() &&
          threads_.size() < kMaxThreads) {
        start_thread();
      }
      busy_.fetch_add(1, std::memory_order_relaxed);
    }
    boost::asio::post(pool_, [this, job = std::move(job)] {
      job();
      busy_.fetch_sub(1, std::memory_order_relaxed);
    });
  }

  std::size_t size() {
    std::lock_guard lock(mutex_);
    return threads_.size();
  }

 private:
  // A thread that cannot be started is an error only when there is none to run the job
  // (which is then never queued); otherwise the started ones take it.
  void start_thread() {
    try {
      threads_.emplace_back([this] { pool_.attach(); });
    } catch (const std::system_error&) {
      if (threads_.empty()) throw;
    }
  }

  boost::asio::thread_pool pool_{0};  // no threads of its own: see submit()
  std::mutex mutex_;                  // guards threads_
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> busy_{0};  // jobs queued or running
};

std::atomic<bool> g_pool_slot_used{
    false};  // pool_slot() ran: a forked child may have a pool to drop

// Heap-allocated so a forked child can drop the parent's copy (whose mutex may be held
// by a thread that does not exist in the child) without running its destructor.
std::unique_ptr<ThreadPool>& pool_slot() {
  static std::unique_ptr<ThreadPool> pool;
  g_pool_slot_used.store(true, std::memory_order_relaxed);
  return pool;
}
std::mutex g_pool_create;

ThreadPool& pool() {
  std::lock_guard lock(g_pool_create);
  auto& slot = pool_slot();
  if (!slot) slot = std::make_unique<ThreadPool>();
  return *slot;
}

}  // namespace

void run_on_thread_pool(std::function<void()> job) {
  Hub& hub = Hub::current();
  WaitInfo info{"to_thread"};
  detail::Scheduling::check_can_block(hub, info);
  struct Call {
    Hub* hub;
    FiberRecord* fiber;
    bool done = false;
  } call{&hub, &detail::Scheduling::running(hub)};
  detail::Scheduling::begin_external_work(hub);
  pool().submit(
      [job = std::move(job), mailbox = detail::Scheduling::mailbox(hub), &call]() mutable {
        job();
        mailbox->post([&call] {
          call.done = true;
          detail::Scheduling::end_external_work(*call.hub);
          detail::Scheduling::schedule(*call.hub, *call.fiber);
        });
      });
  // Interrupts cannot stop the job, so cancel does nothing and only completion wakes us;
  // park() then delivers the kill or timeout.
  auto ignore_cancel = [](void*) noexcept {};
  while (!call.done) detail::Scheduling::park(hub, info, ignore_cancel, nullptr);
}

std::size_t thread_pool_size() noexcept { return pool_slot() ? pool().size() : 0; }

// Without a pool there is nothing to drop; skipping pool_slot() then spares the child the
// static's first-use guard and atexit registration.
void reset_thread_pool_after_fork() noexcept {
  if (g_pool_slot_used.load(std::memory_order_relaxed)) (void)pool_slot().release();
}

}  // namespace braid::detail
