// A fault inside the running coroutine's guard page is a stack overflow: say so, with
// the coroutine's name, from an alternate signal stack (the faulting one is exhausted),
// then abort. Any other fault goes to the previous handler or the default action.
#include "../overflow_guard.hpp"

#include <braid/runtime/hub.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace braid::detail {
namespace {

struct sigaction g_previous {};
constexpr std::size_t kAltStackSize = 64 * 1024;

// Async-signal-safe formatting: only write(2) and fixed buffers.
void append(char*& out, const char* end, const char* s) {
  while (*s != '\0' && out < end) *out++ = *s++;
}

void append_number(char*& out, const char* end, unsigned long long v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 24);
  while (n > 0 && out < end) *out++ = digits[--n];
}

void report_overflow(const FiberRecord& f) {
  char buf[512] = {};
  char* out = buf;
  const char* end = buf + sizeof buf - 1;
  append(out, end, "braid: stack overflow in coroutine '");
  if (f.name.empty()) {  // not formatted yet: no allocation in a signal handler
    append(out, end, "Task-");
    append_number(out, end, f.id);
  } else {
    append(out, end, f.name.c_str());
  }
  append(out, end, "' (id ");
  append_number(out, end, f.id);
  append(out, end, ", stack ");
  append_number(out, end, f.stack.size / 1024);
  append(out, end,
         " KiB); spawn it with a larger stack (SpawnOptions::stack_size) "
         "or raise braid::set_default_stack_size");
  *out++ = '\n';
  (void)!::write(STDERR_FILENO, buf, static_cast<std::size_t>(out - buf));
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  const char* addr = static_cast<const char*>(info->si_addr);
  if (Hub* hub = Hub::current_if_any()) {
    const FiberRecord& f = detail::Scheduling::running(*hub);
    if (f.stack.guard != nullptr && addr >= f.stack.guard &&
        addr < f.stack.guard + f.stack.guard_size) {
      report_overflow(f);
      ::signal(SIGABRT, SIG_DFL);
      std::abort();
    }
  }
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, uctx);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
      g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: returning re-executes the faulting access with SIGSEGV at default.
  ::signal(SIGSEGV, SIG_DFL);
}

void install_alt_stack() {
  static thread_local bool installed = false;
  if (installed) return;
  installed = true;
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;
  void* mem = ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return;  // overflows then show as a plain SIGSEGV
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  ::sigaltstack(&ss, nullptr);  // per-thread mapping, reclaimed at process exit
}

}  // namespace

void install_overflow_guard() {
#if defined(BRAID_ASAN) || defined(BRAID_TSAN)
  return;
#else
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, &g_previous);
  });
  install_alt_stack();
#endif
}

}  // namespace braid::detail
