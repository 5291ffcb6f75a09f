#include <braid/process/synchronize.hpp>

#include <braid/runtime/hub.hpp>
#include <braid/runtime/log.hpp>

#include <fmt/format.h>

#include <chrono>
#include <limits>

namespace braid::process {
namespace detail {
namespace {

// How often a waiter for a Lock checks that the holder is still alive.
constexpr Duration kOwnerCheck = std::chrono::milliseconds(100);

// The running coroutine within this process (RLock ownership).
std::uintptr_t coroutine_tag() {
  return reinterpret_cast<std::uintptr_t>(&braid::detail::Scheduling::running(Hub::current()));
}

}  // namespace

struct LockState {
  SharedMutex m;
  SharedCondState cv;
  ProcessIdentity owner;    // pid 0: free
  std::uintptr_t tag = 0;   // holding coroutine in the owner process (RLock)
  std::uint32_t depth = 0;  // RLock recursion depth
  std::uint64_t recovered = 0;
  LockState() { m.init(); }
};

class LockCore {
 public:
  explicit LockCore(bool recursive) : block_(0), cond_(&block_->cv), recursive_(recursive) {}

  bool acquire(std::optional<Duration> timeout) {
    // An uncontended acquire does not park: a loop of acquire/release would hold the hub.
    Hub::current().cooperate();
    const braid::detail::CallDeadline until(timeout);
    LockState& s = *block_.get();
    s.m.lock();
    for (;;) {
      if (try_take_locked(s)) break;
      if (until.passed()) {
        s.m.unlock();
        return false;
      }
      try {
        cond_.wait(s.m, until.slice(kOwnerCheck));
      } catch (...) {
        s.m.unlock();
        throw;
      }
    }
    s.m.unlock();
    return true;
  }

  bool try_lock() {
    SharedLockGuard g(block_->m);
    return try_take_locked(*block_.get());
  }

  void release() {
    LockState& s = *block_.get();
    SharedLockGuard g(s.m);
    if (s.owner.pid == 0) throw std::logic_error("release of an unlocked lock");
    if (recursive_) {
      if (!(s.owner == self_identity() && s.tag == coroutine_tag())) {
        throw std::logic_error("cannot release an RLock held by someone else");
      }
      if (--s.depth > 0) return;
    }
    s.owner = {};
    s.tag = 0;
    s.depth = 0;
    cond_.notify(1);
  }

  bool locked() const {
    SharedLockGuard g(block_->m);
    return block_->owner.pid != 0;
  }
  bool owned_by_this_process() const {
    SharedLockGuard g(block_->m);
    return block_->owner == self_identity();
  }
  std::uint64_t recovered() const {
    SharedLockGuard g(block_->m);
    return block_->recovered;
  }

 private:
  bool try_take_locked(LockState& s) {
    const ProcessIdentity me = self_identity();
    if (s.owner.pid != 0) {
      if (recursive_ && s.owner == me && s.tag == coroutine_tag()) {
        ++s.depth;
        return true;
      }
      if (s.owner == me || process_alive(s.owner)) return false;
      braid::detail::log().warn(
          "process-shared lock: holder pid {} exited without releasing it; taken over by pid {}",
          s.owner.pid, me.pid);
      ++s.recovered;
    }
    s.owner = me;
    s.tag = coroutine_tag();
    s.depth = 1;
    return true;
  }

  SharedBlock<LockState> block_;
  SharedCond cond_;
  bool recursive_;
};

struct SemaphoreState {
  SharedMutex m;
  SharedCondState cv;
  std::size_t value;
  std::size_t initial;
  bool bounded;
  SemaphoreState(std::size_t n, bool b) : value(n), initial(n), bounded(b) { m.init(); }
};

struct SemaphoreImpl {
  SemaphoreImpl(std::size_t n, bool bounded) : block(0, n, bounded), cond(&block->cv) {}
  SharedBlock<SemaphoreState> block;
  SharedCond cond;
};

struct EventState {
  SharedMutex m;
  SharedCondState cv;
  bool flag = false;
  EventState() { m.init(); }
};

struct EventImpl {
  EventImpl() : block(0), cond(&block->cv) {}
  SharedBlock<EventState> block;
  SharedCond cond;
};

struct ConditionState {
  SharedMutex m;
  SharedCondState cv;
  ConditionState() { m.init(); }
};

struct ConditionImpl {
  ConditionImpl() : block(0), cond(&block->cv) {}
  SharedBlock<ConditionState> block;
  SharedCond cond;
};

struct BarrierState {
  SharedMutex m;
  SharedCondState cv;
  std::size_t parties;
  std::size_t count = 0;         // waiting now
  std::uint64_t generation = 0;  // completed or reset cycles
  std::uint64_t aborted_generation = std::numeric_limits<std::uint64_t>::max();
  bool broken = false;
  explicit BarrierState(std::size_t n) : parties(n) { m.init(); }
};

struct BarrierImpl {
  BarrierImpl(std::size_t n, std::function<void()> a, std::optional<Duration> t)
      : block(0, n), cond(&block->cv), action(std::move(a)), timeout(t) {}
  SharedBlock<BarrierState> block;
  SharedCond cond;
  std::function<void()> action;     // this process's copy; empty: none
  std::optional<Duration> timeout;  // the default for wait()
};

// Runs `pred` under `m`, waiting on `cond` until it holds or the deadline passes.
template <class Pred>
bool wait_until(SharedMutex& m, SharedCond& cond, const braid::detail::CallDeadline& until,
                Pred pred) {
  while (!pred()) {
    if (until.passed()) return false;
    cond.wait(m, until.remaining());
  }
  return true;
}

}  // namespace detail

// ---- Lock / RLock

Lock::Lock() : core_(std::make_shared<detail::LockCore>(false)) {}
bool Lock::acquire(std::optional<Duration> timeout) { return core_->acquire(timeout); }
void Lock::release() { core_->release(); }
bool Lock::try_lock() { return core_->try_lock(); }
bool Lock::locked() const { return core_->locked(); }
std::uint64_t Lock::recovered_count() const { return core_->recovered(); }

RLock::RLock() : core_(std::make_shared<detail::LockCore>(true)) {}
bool RLock::acquire(std::optional<Duration> timeout) { return core_->acquire(timeout); }
void RLock::release() { core_->release(); }
bool RLock::try_lock() { return core_->try_lock(); }
bool RLock::locked() const { return core_->locked(); }

// ---- Semaphore

Semaphore::Semaphore(std::size_t n) : Semaphore(n, false) {}
Semaphore::Semaphore(std::size_t n, bool bounded)
    : impl_(std::make_shared<detail::SemaphoreImpl>(n, bounded)) {}

bool Semaphore::acquire(std::optional<Duration> timeout) {
  Hub::current().cooperate();  // as in LockCore::acquire
  auto& s = *impl_->block.get();
  const braid::detail::CallDeadline until(timeout);
  s.m.lock();
  bool ok;
  try {
    ok = detail::wait_until(s.m, impl_->cond, until, [&] { return s.value > 0; });
  } catch (...) {
    s.m.unlock();
    throw;
  }
  if (ok) --s.value;
  s.m.unlock();
  return ok;
}

bool Semaphore::try_lock() {
  auto& s = *impl_->block.get();
  detail::SharedLockGuard g(s.m);
  if (s.value == 0) return false;
  --s.value;
  return true;
}

void Semaphore::release() {
  auto& s = *impl_->block.get();
  detail::SharedLockGuard g(s.m);
  if (s.bounded && s.value >= s.initial) {
    throw std::logic_error("BoundedSemaphore released too many times");
  }
  ++s.value;
  impl_->cond.notify(1);
}

std::size_t Semaphore::value() const {
  detail::SharedLockGuard g(impl_->block->m);
  return impl_->block->value;
}

// ---- Event

Event::Event() : impl_(std::make_shared<detail::EventImpl>()) {}

void Event::set() {
  auto& s = *impl_->block.get();
  detail::SharedLockGuard g(s.m);
  s.flag = true;
  impl_->cond.notify_all();
}

void Event::clear() {
  detail::SharedLockGuard g(impl_->block->m);
  impl_->block->flag = false;
}

bool Event::is_set() const {
  detail::SharedLockGuard g(impl_->block->m);
  return impl_->block->flag;
}

bool Event::wait(std::optional<Duration> timeout) {
  Hub::current().cooperate();  // a set event does not park
  auto& s = *impl_->block.get();
  const braid::detail::CallDeadline until(timeout);
  s.m.lock();
  bool ok;
  try {
    ok = detail::wait_until(s.m, impl_->cond, until, [&] { return s.flag; });
  } catch (...) {
    s.m.unlock();
    throw;
  }
  s.m.unlock();
  return ok;
}

// ---- Condition

Condition::Condition(Lock* lock)
    : lock_(lock != nullptr ? *lock : Lock()), impl_(std::make_shared<detail::ConditionImpl>()) {}

void Condition::check_owned(const char* what) const {
  if (!lock_.core_->owned_by_this_process()) {
    throw std::logic_error(fmt::format("Condition::{} without holding its lock", what));
  }
}

bool Condition::wait(std::optional<Duration> timeout) {
  check_owned("wait");
  auto& s = *impl_->block.get();
  s.m.lock();
  const std::uint64_t ticket = impl_->cond.enlist();
  s.m.unlock();
  lock_.release();
  bool got;
  try {
    got = impl_->cond.await(s.m, timeout, ticket);
  } catch (...) {
    lock_.acquire();
    throw;
  }
  lock_.acquire();
  return got;
}

void Condition::notify(std::size_t n) {
  check_owned("notify");
  detail::SharedLockGuard g(impl_->block->m);
  impl_->cond.notify(static_cast<std::uint32_t>(
      std::min<std::size_t>(n, std::numeric_limits<std::uint32_t>::max())));
}

void Condition::notify_all() {
  check_owned("notify_all");
  detail::SharedLockGuard g(impl_->block->m);
  impl_->cond.notify_all();
}

// ---- Barrier

Barrier::Barrier(std::size_t parties) : Barrier(parties, {}, std::nullopt) {}

Barrier::Barrier(std::size_t parties, std::function<void()> action,
                 std::optional<Duration> timeout) {
  if (parties == 0) throw std::invalid_argument("Barrier needs at least one party");
  impl_ = std::make_shared<detail::BarrierImpl>(parties, std::move(action), timeout);
}

std::size_t Barrier::wait(std::optional<Duration> timeout) {
  auto& s = *impl_->block.get();
  const braid::detail::CallDeadline until(timeout ? timeout : impl_->timeout);
  detail::SharedLockGuard g(s.m);
  if (s.broken) throw BrokenBarrierError("Barrier::wait: the barrier is broken");
  const std::size_t index = s.count++;
  const std::uint64_t gen = s.generation;
  if (s.count == s.parties) {  // the last to arrive releases everyone
    if (impl_->action) {
      // Run without the mutex (held only for short sections; the action may park). The
      // others keep waiting: the generation has not moved.
      s.m.unlock();
      try {
        impl_->action();
      } catch (...) {
        s.m.lock();  // the guard releases it
        if (s.generation == gen) {
          s.broken = true;
          if (s.count > 0) --s.count;
          impl_->cond.notify_all();
        }
        throw;
      }
      s.m.lock();
      if (s.generation != gen || s.broken) {  // reset or broken while the action ran
        if (s.generation == gen && s.count > 0) --s.count;
        throw BrokenBarrierError("Barrier::wait: the barrier was broken while its action ran");
      }
    }
    s.count = 0;
    ++s.generation;
    impl_->cond.notify_all();
    return index;
  }
  for (;;) {
    bool woken;
    try {
      woken = impl_->cond.wait(s.m, until.remaining());
    } catch (...) {
      // Killed or timed out by an enclosing Timeout: a party is missing now.
      if (s.generation == gen && !s.broken) {
        s.broken = true;
        impl_->cond.notify_all();
      }
      if (s.generation == gen && s.count > 0) --s.count;
      throw;
    }
    if (s.generation != gen) {
      if (s.aborted_generation == gen) {
        throw BrokenBarrierError("Barrier::wait: the barrier was reset while waiting");
      }
      return index;
    }
    if (s.broken) {
      if (s.count > 0) --s.count;
      throw BrokenBarrierError("Barrier::wait: the barrier was broken while waiting");
    }
    if (!woken && until.passed()) {
      s.broken = true;
      if (s.count > 0) --s.count;
      impl_->cond.notify_all();
      throw BrokenBarrierError("Barrier::wait: timed out, the barrier is now broken");
    }
  }
}

void Barrier::reset() {
  auto& s = *impl_->block.get();
  detail::SharedLockGuard g(s.m);
  if (s.count > 0 && !s.broken) {
    s.aborted_generation = s.generation;
    ++s.generation;
    impl_->cond.notify_all();
  }
  s.count = 0;
  s.broken = false;
}

void Barrier::abort() {
  auto& s = *impl_->block.get();
  detail::SharedLockGuard g(s.m);
  s.broken = true;
  impl_->cond.notify_all();
}

std::size_t Barrier::parties() const { return impl_->block->parties; }

std::size_t Barrier::n_waiting() const {
  detail::SharedLockGuard g(impl_->block->m);
  return impl_->block->broken ? 0 : impl_->block->count;
}

bool Barrier::broken() const {
  detail::SharedLockGuard g(impl_->block->m);
  return impl_->block->broken;
}

}  // namespace braid::process
