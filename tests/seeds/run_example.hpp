// Runs a built example program and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace braid::test {

struct ProgramResult {
  std::string out;  // stdout (and stderr when merged)
  int exit_code = -1;
};

/// Runs `BRAID_EXAMPLES_DIR/<name> <args>` through the shell; `merge_stderr` adds 2>&1.
inline ProgramResult run_example(const std::string& name, const std::string& args = "",
                                 bool merge_stderr = false) {
  std::string cmd = std::string(BRAID_EXAMPLES_DIR) + "/" + name + " " + args;
  if (merge_stderr) cmd += " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed for " + cmd);
  ProgramResult r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return r;
}

}  // namespace braid::test
