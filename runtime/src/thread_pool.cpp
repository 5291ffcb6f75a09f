// braid's thread pool for blocking calls. Threads start lazily, up to kMaxThreads, and
// finish queued jobs before the process exits. Results reach the caller's hub through
// its mailbox, which drops them if that hub is gone.
#include <braid/runtime/thread.hpp>

#include <braid/runtime/log.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace braid::detail {
namespace {

constexpr std::size_t kMaxThreads = 4;

class ThreadPool {
 public:
  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void submit(std::function<void()> job) {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (idle_ == 0 && threads_.size() < kMaxThreads) {
      threads_.emplace_back([this] { work(); });
    } else {
      wake_.notify_one();
    }
  }

  std::size_t size() {
    std::lock_guard lock(mutex_);
    return threads_.size();
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // stopping, and nothing left to do
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
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
  hub.check_can_block(info);
  struct Call {
    Hub* hub;
    FiberRecord* fiber;
    bool done = false;
  } call{&hub, &hub.running()};
  hub.begin_external_work();
  pool().submit([job = std::move(job), mailbox = hub.mailbox(), &call]() mutable {
    job();
    mailbox->post([&call] {
      call.done = true;
      call.hub->end_external_work();
      call.hub->schedule(*call.fiber);
    });
  });
  // Interrupts cannot stop the job, so cancel does nothing and only completion wakes us;
  // park() then delivers the kill or timeout.
  auto ignore_cancel = [](void*) noexcept {};
  while (!call.done) hub.park(info, ignore_cancel, nullptr);
}

std::size_t thread_pool_size() noexcept { return pool_slot() ? pool().size() : 0; }

// Without a pool there is nothing to drop; skipping pool_slot() then spares the child the
// static's first-use guard and atexit registration.
void reset_thread_pool_after_fork() noexcept {
  if (g_pool_slot_used.load(std::memory_order_relaxed)) (void)pool_slot().release();
}

}  // namespace braid::detail
