#include <braid/process/detail/shared_state.hpp>

#include <braid/coro/sleep.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace braid::process::detail {

namespace sys = braid::detail::sys;

SharedMapping::SharedMapping(std::size_t bytes, bool noreserve) : size_(bytes) {
  const int flags = MAP_SHARED | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("mmap {} bytes of shared memory", bytes));
  }
  data_ = p;
}

SharedMapping::~SharedMapping() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

void SharedMutex::init() {
  pthread_mutexattr_t a;
  ::pthread_mutexattr_init(&a);
  ::pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  const int r = ::pthread_mutex_init(&m, &a);
  ::pthread_mutexattr_destroy(&a);
  if (r != 0) throw std::system_error(r, std::generic_category(), "pthread_mutex_init (shared)");
}

void SharedMutex::lock() noexcept {
  const int r = ::pthread_mutex_lock(&m);
  // The previous holder died inside a critical section. Those only publish an update
  // after it is complete, so the state is usable as it is.
  if (r == EOWNERDEAD) ::pthread_mutex_consistent(&m);
}

void SharedMutex::unlock() noexcept { ::pthread_mutex_unlock(&m); }

SharedCond::SharedCond(SharedCondState* state)
    : state_(state), fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) {
  if (!fd_) throw std::system_error(errno, std::generic_category(), "eventfd");
}

SharedCond::~SharedCond() = default;

bool SharedCond::try_take() noexcept {
  std::uint64_t v = 0;
  return sys::read(fd_.get(), &v, sizeof v) == static_cast<ssize_t>(sizeof v);
}

void SharedCond::put_back() noexcept {
  const std::uint64_t v = 1;
  (void)sys::write(fd_.get(), &v, sizeof v);
}

bool SharedCond::notified_since(std::uint64_t ticket) const noexcept {
  return std::atomic_ref<std::uint64_t>(state_->seq).load(std::memory_order_acquire) != ticket;
}

void SharedCond::notify(std::uint32_t n) noexcept {
  if (n > state_->waiters) n = state_->waiters;
  if (n == 0) return;
  state_->waiters -= n;
  std::atomic_ref<std::uint64_t>(state_->seq).fetch_add(1, std::memory_order_release);
  const std::uint64_t v = n;
  (void)sys::write(fd_.get(), &v, sizeof v);
}

void SharedCond::leave(SharedMutex& m, std::uint64_t ticket, bool& got) noexcept {
  m.lock();
  // No notify since we enlisted: nobody took us off the count, and any token is not ours.
  if (notified_since(ticket) && try_take()) {
    got = true;  // a token arrived meanwhile: it is ours, the count no longer holds us
  } else {
    state_->waiters--;
  }
  m.unlock();
}

// Leaving on an exception: a wake-up this waiter took goes to another waiter.
void SharedCond::leave_passing_on(SharedMutex& m, std::uint64_t ticket, bool& got) noexcept {
  leave(m, ticket, got);
  if (got) {
    m.lock();
    notify(1);
    m.unlock();
  }
}

bool SharedCond::await(SharedMutex& m, std::optional<Duration> timeout, std::uint64_t ticket) {
  bool got = false;
  try {
    const braid::detail::CallDeadline until(timeout);
    for (;;) {
      if (try_take()) {
        if (notified_since(ticket)) {
          got = true;
          break;
        }
        put_back();  // meant for a waiter that enlisted before us: let it have it
        braid::sleep(std::chrono::milliseconds(1));
        continue;
      }
      if (until.passed()) break;
      braid::wait_readable(fd_.get(), until.remaining());
    }
  } catch (const TimeoutError& e) {
    if (e.source() != nullptr) {  // an enclosing braid::Timeout: leave, pass a token on
      leave_passing_on(m, ticket, got);
      throw;
    }
  } catch (...) {  // a kill (GreenletExit) or an error: leave without losing a wake-up
    leave_passing_on(m, ticket, got);
    throw;
  }
  if (!got) leave(m, ticket, got);
  return got;
}

bool SharedCond::wait(SharedMutex& m, std::optional<Duration> timeout) {
  const std::uint64_t ticket = enlist();
  m.unlock();
  bool got;
  try {
    got = await(m, timeout, ticket);
  } catch (...) {
    m.lock();
    throw;
  }
  m.lock();
  return got;
}

}  // namespace braid::process::detail

// ---- <braid/process/shared_memory.hpp>
namespace braid::process::detail {

void throw_no_lock(const char* type) {
  throw std::logic_error(fmt::format(
      "{} was made with lock=false: it has no lock (use Raw{} or a lock of your own)", type, type));
}

}  // namespace braid::process::detail
