// braid::detail::sys: a call interrupted by a real signal (a handler without SA_RESTART)
// is retried and returns what arrives after; failures keep the POSIX -1 and errno.
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include <catch2/catch.hpp>

#include "pipe_support.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using braid::detail::UniqueFd;
namespace sys = braid::detail::sys;

namespace {

std::atomic<int> g_signals{0};
extern "C" void count_signal(int) { g_signals.fetch_add(1); }

// SIGUSR1 handled without SA_RESTART for the test's lifetime, so a blocking call the
// signal lands in fails with EINTR.
class InterruptingHandler {
 public:
  InterruptingHandler() {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART
    REQUIRE(::sigaction(SIGUSR1, &sa, &old_) == 0);
  }
  ~InterruptingHandler() { ::sigaction(SIGUSR1, &old_, nullptr); }
  InterruptingHandler(const InterruptingHandler&) = delete;
  InterruptingHandler& operator=(const InterruptingHandler&) = delete;

 private:
  struct sigaction old_ {};
};

using Pipe = braid::test::OwnedPipe;

// The system call thread `tid` is blocked in, from /proc (-1 when running or unknown).
long blocked_syscall(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long nr = -1;
  if (!(f >> nr)) return -1;
  return nr;
}

// Waits (bounded) until thread `tid` sits in system call `nr` (or `alt`).
bool wait_until_blocked_in(pid_t tid, long nr, long alt = -2) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    const long now = blocked_syscall(tid);
    if (now == nr || now == alt) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Interrupts thread `t` (blocked in `nr` or `alt`) once with SIGUSR1 and waits until the
// handler has run and the thread is blocked in the same call again (the retry).
void interrupt_once(pthread_t t, pid_t tid, long nr, long alt = -2) {
  REQUIRE(wait_until_blocked_in(tid, nr, alt));
  const int before = g_signals.load();
  REQUIRE(::pthread_kill(t, SIGUSR1) == 0);
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (g_signals.load() == before && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(g_signals.load() == before + 1);
  REQUIRE(wait_until_blocked_in(tid, nr, alt));
}

// Runs `call` on a new thread; returns its thread handles and the future of its result.
template <class Call>
struct BlockedCall {
  std::promise<pid_t> tid_promise;
  std::future<decltype(std::declval<Call>()())> result;
  std::thread thread;
  pid_t tid = -1;

  explicit BlockedCall(Call call) {
    std::packaged_task<decltype(call())()> task(std::move(call));
    result = task.get_future();
    thread = std::thread([this, task = std::move(task)]() mutable {
      tid_promise.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
      task();
    });
    tid = tid_promise.get_future().get();
  }
  ~BlockedCall() {
    if (thread.joinable()) thread.join();
  }
  BlockedCall(const BlockedCall&) = delete;
  BlockedCall& operator=(const BlockedCall&) = delete;
};

}  // namespace

TEST_CASE("sys::read: a signal without SA_RESTART does not end the read", "[sys]") {
  InterruptingHandler handler;
  Pipe p;
  char buf[16] = {};

  SECTION("the plain call fails with EINTR (what the wrapper hides)") {
    BlockedCall call([&] {
      const ssize_t r = ::read(p.r.get(), buf, sizeof buf);
      return r < 0 ? -errno : r;
    });
    REQUIRE(wait_until_blocked_in(call.tid, SYS_read));
    REQUIRE(::pthread_kill(call.thread.native_handle(), SIGUSR1) == 0);
    REQUIRE(call.result.wait_for(20s) == std::future_status::ready);
    CHECK(call.result.get() == -EINTR);
  }

  SECTION("sys::read retries and returns the data that arrives after") {
    BlockedCall call([&] { return sys::read(p.r.get(), buf, sizeof buf); });
    interrupt_once(call.thread.native_handle(), call.tid, SYS_read);
    interrupt_once(call.thread.native_handle(), call.tid, SYS_read);
    CHECK(call.result.wait_for(0s) == std::future_status::timeout);  // still reading
    REQUIRE(::write(p.w.get(), "hello", 5) == 5);
    REQUIRE(call.result.wait_for(20s) == std::future_status::ready);
    CHECK(call.result.get() == 5);
    CHECK(std::string(buf, 5) == "hello");
  }
}

TEST_CASE("sys::poll: an interrupted wait goes on until the descriptor is ready", "[sys]") {
  InterruptingHandler handler;
  Pipe p;
  pollfd pfd{p.r.get(), POLLIN, 0};
#ifdef SYS_poll
  const long poll_nr = SYS_poll;
#else
  const long poll_nr = -2;
#endif

  SECTION("no timeout") {
    BlockedCall call([&] { return sys::poll(&pfd, 1, -1); });
    interrupt_once(call.thread.native_handle(), call.tid, poll_nr, SYS_ppoll);
    REQUIRE(::write(p.w.get(), "x", 1) == 1);
    REQUIRE(call.result.wait_for(20s) == std::future_status::ready);
    CHECK(call.result.get() == 1);
    CHECK((pfd.revents & POLLIN) != 0);
  }

  SECTION("a timeout: the retry waits for the time left, then reports none ready") {
    const auto started = std::chrono::steady_clock::now();
    BlockedCall call([&] { return sys::poll(&pfd, 1, 300); });
    interrupt_once(call.thread.native_handle(), call.tid, poll_nr, SYS_ppoll);
    REQUIRE(call.result.wait_for(20s) == std::future_status::ready);
    CHECK(call.result.get() == 0);
    CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  }
}

TEST_CASE("sys::connect: an interrupted connect is EINPROGRESS and completes later", "[sys]") {
  InterruptingHandler handler;
  // A listener whose accept queue holds one connection: a second connect's SYN is
  // dropped, so a blocking connect waits in the kernel (retransmitting) until accept().
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0);
  REQUIRE(::listen(listener.get(), 0) == 0);
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const auto* to = reinterpret_cast<const sockaddr*>(&addr);

  UniqueFd first(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(first.get(), to, sizeof addr) == 0);  // fills the accept queue

  UniqueFd second(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  BlockedCall call([&] {
    const int r = sys::connect(second.get(), to, sizeof addr);
    return r < 0 ? -errno : r;
  });
  REQUIRE(wait_until_blocked_in(call.tid, SYS_connect));
  REQUIRE(::pthread_kill(call.thread.native_handle(), SIGUSR1) == 0);
  REQUIRE(call.result.wait_for(20s) == std::future_status::ready);
  CHECK(call.result.get() == -EINPROGRESS);

  // The connection goes on in the background: room in the queue lets it complete.
  const UniqueFd accepted_first(sys::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(accepted_first);
  pollfd pfd{second.get(), POLLOUT, 0};
  REQUIRE(sys::poll(&pfd, 1, 20000) == 1);
  int err = -1;
  socklen_t err_len = sizeof err;
  REQUIRE(::getsockopt(second.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) == 0);
  CHECK(err == 0);
  const UniqueFd accepted(sys::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(accepted);
  REQUIRE(sys::write(second.get(), "ok", 2) == 2);  // and it carries data
  char buf[2] = {};
  REQUIRE(sys::read(accepted.get(), buf, 2) == 2);
  CHECK(std::string(buf, 2) == "ok");
}

TEST_CASE("sys: failures keep -1 and the call's errno", "[sys]") {
  char buf[4] = {};
  Pipe p;
  const int closed = p.r.release();
  REQUIRE(::close(closed) == 0);

  errno = 0;
  CHECK(sys::read(closed, buf, sizeof buf) == -1);
  CHECK(errno == EBADF);
  errno = 0;
  CHECK(sys::write(closed, buf, sizeof buf) == -1);
  CHECK(errno == EBADF);
  errno = 0;
  CHECK(sys::recv(p.w.get(), buf, sizeof buf, 0) == -1);
  CHECK(errno == ENOTSOCK);
  errno = 0;
  CHECK(sys::accept4(closed, nullptr, nullptr, SOCK_CLOEXEC) == -1);
  CHECK(errno == EBADF);
  errno = 0;
  CHECK(sys::connect(closed, nullptr, 0) == -1);
  CHECK(errno == EBADF);
  errno = 0;
  CHECK(sys::waitpid(-1, nullptr, WNOHANG) == -1);  // no children of this test's own
  CHECK(errno == ECHILD);
  errno = 0;
  CHECK(sys::epoll_wait(closed, nullptr, 1, 0) == -1);
  CHECK((errno == EBADF || errno == EINVAL));

  SECTION("a full non-blocking pipe: EAGAIN, not a retry") {
    Pipe full;
    REQUIRE(::fcntl(full.w.get(), F_SETFL, O_NONBLOCK) == 0);
    const std::string chunk(65536, 'x');
    ssize_t r = 0;
    while ((r = sys::write(full.w.get(), chunk.data(), chunk.size())) > 0) {
    }
    CHECK(r == -1);
    CHECK(errno == EAGAIN);
  }
}
