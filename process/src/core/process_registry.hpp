// The process module's per-process registry: which Process objects are started children
// of this process, children whose Process object is gone (still joined at exit), the
// current process, and the exit handler that terminates daemon children and joins the
// rest. Internal to process/src.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace braid::process {
class Process;
}

namespace braid::process::detail::registry {

/// The next N for a default name "Process-N" (1, 2, ...; per process).
unsigned next_child_number();
/// This process's identity: "" in the main process, "2" or "1:3" in children.
const std::string& identity();
/// Called before fork: installs the exit handler and drops finished orphans.
void prepare_start();
/// Records a started child.
void add(Process& p);
/// Forgets `p` (destroyed). `running_pid` > 0: its child still runs and is kept as an
/// orphan (joined at exit unless daemon, terminated at exit when daemon).
void forget(Process& p, pid_t running_pid, bool daemon);
/// Started children whose Process objects still exist.
std::vector<Process*> children();
/// The Process standing for this process, or nullptr in the main process.
Process* current();
/// In a freshly forked child: `self` is the current process, no children yet; the parent
/// is `parent_pid`, named `parent_name` (for parent_process()).
void become_child(Process* self, const std::string& identity, pid_t parent_pid,
                  const std::string& parent_name);
/// The parent recorded by become_child: its pid (0 in the main process) and name.
pid_t parent_pid();
const std::string& parent_name();
/// The Process made for parent_process(), once made; stored by set_parent_process.
Process* parent_process();
void set_parent_process(Process* p);

/// pidfd_open(pid): a descriptor readable once `pid` has exited (close-on-exec); -1 with
/// errno set where the kernel has none (ENOSYS) or the process is gone (ESRCH).
int open_pidfd(pid_t pid) noexcept;

}  // namespace braid::process::detail::registry
