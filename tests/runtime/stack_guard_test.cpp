// The guard under each coroutine stack: a frame larger than the whole stack must land in
// it and be reported (this file is built with the -fstack-clash-protection that
// braid::runtime exports), and the guard must cover the whole distance the compiler may
// move the stack pointer without a probe.
#include <braid/coro.hpp>
#include <braid/runtime/detail/stack_pool.hpp>
#include <braid/runtime/fork.hpp>
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kStack = 128 * 1024;
using Neighbour = braid::Task<void>;

// A frame of N bytes, touched first at its far (lowest) end: without stack probes the
// stack pointer jumps N bytes at once and that first write lands wherever it points.
// noinline and volatile keep the compiler from shrinking or dropping the array.
template <std::size_t N>
[[gnu::noinline]] int touch_frame() {
  char frame[N];
  volatile char* p = frame;
  p[0] = 1;
  p[N - 1] = 2;
  return p[0] + p[N - 1];
}

// braid's SIGSEGV handler, taken before Catch2 runs: the first hub installs it once per
// process, and Catch2 puts its own in place for each test case (restoring what it found
// afterwards). A child re-installs braid's, so these cases hold whether the hub was
// created in this test case (ctest runs each alone) or in an earlier one.
const struct sigaction kBraidSegvHandler = [] {
  { braid::Hub installs_the_guard; }
  struct sigaction sa {};
  ::sigaction(SIGSEGV, nullptr, &sa);
  return sa;
}();

struct ChildResult {
  int status = 0;
  std::string err;  // what the child wrote to stderr
};

// Runs `body` in a forked child with a fresh hub and stderr captured; the child exits 0
// when `body` returns.
template <class F>
ChildResult run_in_child(F&& body) {
  int err[2];
  REQUIRE(::pipe(err) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(err[1], STDERR_FILENO);
    ::close(err[0]);
    ::close(err[1]);
    braid::detail::after_fork_in_child();
    ::sigaction(SIGSEGV, &kBraidSegvHandler, nullptr);
    body();
    ::_exit(0);
  }
  ::close(err[1]);
  ChildResult r;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err[0], buf, sizeof buf)) > 0) r.err.append(buf, static_cast<size_t>(n));
  ::close(err[0]);
  REQUIRE(::waitpid(pid, &r.status, 0) == pid);
  return r;
}

bool exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

}  // namespace

TEST_CASE("a stack overflow is reported with the coroutine's name", "[runtime][stack][fork]") {
#if defined(BRAID_ASAN) || defined(BRAID_TSAN)
  SUCCEED("AddressSanitizer reports overflows itself");
#else
  const ChildResult r = run_in_child([] {
    struct Recurse {
      static int deep(int n) {
        volatile char pad[512];
        pad[0] = static_cast<char>(n);
        return n == 0 ? pad[0] : deep(n - 1) + pad[0];
      }
    };
    auto t = braid::spawn(braid::SpawnOptions{"deep-recursion", 64 * 1024},
                          [] { return Recurse::deep(1 << 20); });
    t.join();
  });
  INFO("child stderr: " << r.err);
  REQUIRE(WIFSIGNALED(r.status));
  REQUIRE(WTERMSIG(r.status) == SIGABRT);
  REQUIRE_THAT(r.err, Catch::Contains("stack overflow in coroutine 'deep-recursion'"));
#endif
}

TEST_CASE("a frame larger than the coroutine stack hits the guard and is reported",
          "[runtime][stack][fork]") {
#if defined(BRAID_ASAN) || defined(BRAID_TSAN)
  // Sanitized builds leave SIGSEGV to the sanitizer (braid's overflow guard is not
  // installed), and ASan moves large locals to its own fake stack when
  // detect_stack_use_after_return is on: no braid report to check.
  SUCCEED("the overflow guard is not installed under sanitizers");
#else
  const ChildResult r = run_in_child([] {
    // Live neighbours first: the stack below the big frame's is then another
    // coroutine's, which is what an unprobed 200 KiB frame would silently overwrite.
    braid::Event release;
    std::vector<Neighbour> neighbours;
    for (int i = 0; i < 3; ++i) {
      neighbours.push_back(
          braid::spawn(braid::SpawnOptions{"neighbour", kStack}, [&] { release.wait(); }));
    }
    braid::yield_now();
    auto big = braid::spawn(braid::SpawnOptions{"big-frame", kStack},
                            [] { return touch_frame<200 * 1024>(); });
    big.join();
    release.set();
    for (auto& n : neighbours) n.join();
  });
  INFO("child stderr: " << r.err);
  REQUIRE_FALSE(exited_zero(r.status));  // the bug: the program went on and exited 0
  REQUIRE(WIFSIGNALED(r.status));
  REQUIRE(WTERMSIG(r.status) == SIGABRT);
  REQUIRE_THAT(r.err, Catch::Contains("braid: stack overflow in coroutine 'big-frame'"));
  REQUIRE_THAT(r.err, Catch::Contains("stack 128 KiB"));
#endif
}

TEST_CASE("a large frame that fits the coroutine stack runs normally", "[runtime][stack]") {
  // The probes of a 64 KiB frame (16 pages, as large as the AArch64 guard) touch every
  // page of it, and none is the guard. Half the stack stays free for what sanitizers add
  // to the frame.
  auto t =
      braid::spawn(braid::SpawnOptions{"fits", kStack}, [] { return touch_frame<64 * 1024>(); });
  REQUIRE(t.get() == 3);
}

TEST_CASE("the stack guard covers the compiler's unprobed distance", "[runtime][stack][fork]") {
  const std::size_t guard = braid::detail::stack_guard_size();
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  REQUIRE(guard % page == 0);
#if defined(__x86_64__) || defined(__i386__)
  REQUIRE(guard >= 4 * 1024);  // GCC's and Clang's probe interval
#else
  REQUIRE(guard >= 64 * 1024);  // GCC's default guard size on AArch64
#endif

  auto slot = braid::detail::StackPool::local().allocate(kStack);
  REQUIRE(slot.guard_size == guard);
  REQUIRE(slot.base == slot.guard + guard);
  REQUIRE(slot.size >= kStack);
  slot.base[0] = 1;  // the lowest usable byte is writable
  slot.base[slot.size - 1] = 1;

  // Both ends of the guard fault; a surviving write would exit 0.
  for (const std::size_t offset : {std::size_t{0}, guard - 1}) {
    char* target = slot.guard + offset;
    const ChildResult r = run_in_child([target] {
      // The plain fault, not the test framework's or a sanitizer's report of it.
      ::signal(SIGSEGV, SIG_DFL);
      *static_cast<volatile char*>(target) = 1;
    });
    INFO("offset " << offset << " of " << guard << "; child stderr: " << r.err);
    REQUIRE_FALSE(exited_zero(r.status));
    REQUIRE(WIFSIGNALED(r.status));
    REQUIRE(WTERMSIG(r.status) == SIGSEGV);
  }
  braid::detail::StackPool::local().release(slot);
}
