// Process identity through /proc: a pid plus its start time, so a lock owner that died
// is recognised even after its pid was reused.
#include <braid/process/detail/shared_state.hpp>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace braid::process::detail {
namespace {

// Reads /proc/<pid>/stat: false when the process is gone or a zombie; its start time.
bool read_stat(pid_t pid, std::uint64_t& start_time) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return false;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may contain spaces and parentheses: skip to the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] == '\0') return false;
  p += 2;
  const char state = *p;
  if (state == 'Z' || state == 'X' || state == 'x') return false;
  // Fields from 3 (state) on are space-separated; start time is field 22.
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return false;
    ++p;
  }
  start_time = std::strtoull(p, nullptr, 10);
  return true;
}

}  // namespace

ProcessIdentity self_identity() noexcept {
  static thread_local ProcessIdentity cached;
  const pid_t pid = ::getpid();
  if (cached.pid != pid) {
    std::uint64_t st = 0;
    read_stat(pid, st);
    cached = {pid, st};
  }
  return cached;
}

bool process_alive(const ProcessIdentity& who) noexcept {
  if (who.pid <= 0) return false;
  if (::kill(who.pid, 0) < 0 && errno == ESRCH) return false;
  std::uint64_t st = 0;
  if (!read_stat(who.pid, st)) return false;
  return st == who.start_time;
}

}  // namespace braid::process::detail
