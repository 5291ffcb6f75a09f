// Starting a child program: descriptors for its stdio, and the spawn itself.
// Internal to braid::subprocess; nothing here parks or throws except where noted.
#pragma once

#include <braid/process/subprocess.hpp>

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace braid::subprocess::detail {

/// An owned descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset() noexcept;
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// Both ends of one stdio pipe: the parent's (O_NONBLOCK) and the child's (blocking,
/// numbered 3 or above so dup2 onto 0..2 never overwrites another one). Both are
/// close-on-exec. Throws std::system_error.
struct StdioPipe {
  UniqueFd parent, child;
};
StdioPipe make_stdio_pipe(bool child_reads, const char* stream);
/// /dev/null opened read-write, close-on-exec, numbered 3 or above. Throws.
UniqueFd open_devnull();

/// Everything the spawn needs, prepared (and allocated) before it starts.
struct SpawnPlan {
  std::vector<std::string> argv;  // what the program receives
  std::optional<std::string> cwd;
  std::optional<std::vector<std::string>> env;  // "K=V" entries; nullopt = inherit
  std::string path_env;                         // PATH to search when argv[0] has no '/'
  int stdio[3] = {-1, -1, -1};                  // descriptor for 0, 1, 2; -1 = inherit
  bool err_to_out = false;                      // stderr = stdout, after stdio[1]
  bool close_fds = true;
};

/// What happened: a pid, or an errno and whether the cwd is to blame.
struct SpawnOutcome {
  pid_t pid = -1;
  int error = 0;            // errno when pid < 0
  bool cwd_failed = false;  // the error is the working directory's
};

/// Spawns the program (posix_spawn: CLONE_VFORK, so it blocks the calling thread until
/// the child has exec'd, and exec errors come back as its return value). Never throws.
SpawnOutcome spawn_program(const SpawnPlan& plan) noexcept;

/// Builds the plan's argv, env and PATH from Popen's arguments.
SpawnPlan make_plan(const std::vector<std::string>& args, const Options& o);

/// The std::system_error for a failed spawn: "spawn 'prog': No such file or directory",
/// "spawn 'prog': chdir '/nope': No such file or directory".
[[noreturn]] void throw_spawn_error(const SpawnPlan& plan, const SpawnOutcome& r);

}  // namespace braid::subprocess::detail
