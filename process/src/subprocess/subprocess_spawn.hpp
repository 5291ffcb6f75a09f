// Starting a child program: descriptors for its stdio, and the spawn itself.
// Internal to braid::subprocess; nothing here parks or throws except where noted.
#pragma once

#include <braid/process/subprocess.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace braid::subprocess::detail {

using braid::detail::UniqueFd;

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
  std::string program;            // what to exec (before the PATH search): executable or argv[0]
  std::optional<std::string> cwd;
  std::optional<std::vector<std::string>> env;  // "K=V" entries; nullopt = inherit
  std::string path_env;                         // PATH to search when program has no '/'
  int stdio[3] = {-1, -1, -1};                  // descriptor for 0, 1, 2; -1 = inherit
  bool err_to_out = false;                      // stderr = stdout, after stdio[1]
  bool close_fds = true;
  std::vector<int> pass_fds;           // kept at their numbers, inheritable; sorted, unique
  bool new_session = false;            // setsid()
  std::optional<pid_t> process_group;  // setpgid(0, n)
  std::optional<mode_t> umask;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<std::vector<gid_t>> groups;  // setgroups()

  /// posix_spawn cannot set these; the vfork path (subprocess_vfork.cpp) can.
  bool needs_vfork() const noexcept { return umask || uid || gid || groups; }
};

/// One descriptor step in the child, in order: the same list drives posix_spawn's file
/// actions and the vfork path, so the two cannot drift apart.
struct FdAction {
  enum Kind { dup2, keep, close_range } kind;
  int fd = -1;      // dup2: source; keep: the descriptor to make inheritable; close: first
  int target = -1;  // dup2: destination; close_range: last (-1 = no limit)
};
/// stdio dup2s, then (close_fds) closing everything from 3 except pass_fds, then
/// clearing close-on-exec on pass_fds.
std::vector<FdAction> fd_actions(const SpawnPlan& plan);

/// Which step of starting the child failed.
enum class SpawnStep { exec, chdir, setgroups, setgid, setuid, session, descriptors };

/// What happened: a pid, or an errno and the step that failed.
struct SpawnOutcome {
  pid_t pid = -1;
  int error = 0;                     // errno when pid < 0
  SpawnStep step = SpawnStep::exec;  // the step that failed
};

/// Spawns the program (posix_spawn: CLONE_VFORK, so it blocks the calling thread until
/// the child has exec'd, and exec errors come back as its return value). Never throws.
SpawnOutcome spawn_program(const SpawnPlan& plan) noexcept;

/// The vfork path, for what posix_spawn cannot do (umask, user, group): same contract.
/// `program` is the resolved path; argv and envp are null-terminated.
SpawnOutcome spawn_vfork(const SpawnPlan& plan, const std::string& program, char* const* argv,
                         char* const* envp) noexcept;

/// Looks up Options::user, group and extra_groups (names or numbers) into the plan's
/// uid, gid and groups. @throws std::invalid_argument naming what was not found.
void resolve_credentials(const Options& o, SpawnPlan& plan);

/// Builds the plan's argv, env and PATH from Popen's arguments.
SpawnPlan make_plan(const std::vector<std::string>& args, const Options& o);

/// The std::system_error for a failed spawn: "spawn 'prog': No such file or directory",
/// "spawn 'prog': chdir '/nope': No such file or directory", "spawn 'id': setuid 65534:
/// Operation not permitted". `prog` is the executable when one was given.
[[noreturn]] void throw_spawn_error(const SpawnPlan& plan, const SpawnOutcome& r);

}  // namespace braid::subprocess::detail
