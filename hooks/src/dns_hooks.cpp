// getaddrinfo and getnameinfo on a braid coroutine run libc's on braid's thread pool
// (they block on files and DNS queries with no non-blocking form) while the coroutine
// parks. The lookup always runs to its end; an interrupt that arrives meanwhile stays
// pending for the coroutine's next braid call, and the lookup's result is returned.
#include "common.hpp"

#include <netdb.h>
#include <sys/socket.h>

using namespace braid::hooks::detail;

namespace {

// Runs `call` on the thread pool when the caller may park, inline otherwise (also when
// no pool thread could be started); the result and errno are the call's.
template <class Call>
int off_thread(Call&& call) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return call();
  if (const int err = rt->pending()) {  // killed or timed out already: fail fast
    errno = err;
    return EAI_SYSTEM;
  }
  struct Job {
    Call* call;
    int result = 0;
    int error = 0;  // the pool thread's errno (EAI_SYSTEM)
  } job{&call};
  auto run = [](void* p) {
    auto* j = static_cast<Job*>(p);
    j->result = (*j->call)();
    j->error = errno;
  };
  if (rt->run_blocking(run, &job) == EIO) return call();  // no pool thread: run it here
  errno = job.error;
  return job.result;
}

}  // namespace

extern "C" {

int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  return off_thread([&] { return BRAID_REAL(getaddrinfo)(node, service, hints, res); });
}

int getnameinfo(const sockaddr* addr, socklen_t addrlen, char* host, socklen_t hostlen,
                char* serv, socklen_t servlen, int flags) {
  return off_thread([&] {
    return BRAID_REAL(getnameinfo)(addr, addrlen, host, hostlen, serv, servlen, flags);
  });
}

}  // extern "C"
