// The process primitives' waits sit in the parking contract (parking_contract.hpp): a
// timeout returns false no earlier than asked, an enclosing Timeout is not swallowed,
// kill() while parked unwinds, and the wait is timed by braid's clock.
#include <braid/process/connection.hpp>
#include <braid/process/pool.hpp>
#include <braid/process/process.hpp>
#include <braid/process/queue.hpp>
#include <braid/process/synchronize.hpp>

#include "parking_contract.hpp"

#include <unistd.h>

namespace mp = braid::process;

namespace {

constexpr auto kGenerous = std::chrono::seconds(10);  // reaping a child that was told to end

// A child that waits for `go` (set by the destructor, so it always ends and is reaped).
struct ProcessJoiner {
  mp::Event go;
  mp::Process p{[](mp::Event go) { go.wait(); }, go};
  ProcessJoiner() { p.start(); }
  ~ProcessJoiner() {
    go.set();
    (void)p.join(kGenerous);
  }
  bool wait(std::optional<braid::Duration> t) { return p.join(t); }
};
struct ProcessQueueGetter {
  mp::Queue<int> q;
  bool wait(std::optional<braid::Duration> t) { return braid::test::got_item(q, t); }
};
struct ProcessLockWaiter {
  mp::Lock lock;
  ProcessLockWaiter() { lock.acquire(); }
  bool wait(std::optional<braid::Duration> t) { return lock.acquire(t); }
};
struct ProcessSemaphoreWaiter {
  mp::Semaphore sem{0};
  bool wait(std::optional<braid::Duration> t) { return sem.acquire(t); }
};
struct ProcessEventWaiter {
  mp::Event ev;
  bool wait(std::optional<braid::Duration> t) { return ev.wait(t); }
};
struct ConnectionPoller {
  std::pair<mp::Connection, mp::Connection> ends = mp::Pipe();
  bool wait(std::optional<braid::Duration> t) { return ends.second.poll(t); }
};

int hang() {
  for (;;) ::pause();
}
// A pool task that never ends; the pool's destructor terminates its worker.
struct PoolResultWaiter {
  mp::Pool pool{1};
  mp::PoolResult<int> r = pool.apply_async(hang, std::make_tuple());
  bool wait(std::optional<braid::Duration> t) { return r.wait(t); }
};

}  // namespace

TEMPLATE_TEST_CASE("process waits honour the parking contract", "[process][contract]",
                   ProcessJoiner, ProcessQueueGetter, ProcessLockWaiter, ProcessSemaphoreWaiter,
                   ProcessEventWaiter, ConnectionPoller, PoolResultWaiter) {
  braid::test::check_parking_contract<TestType>();
}
