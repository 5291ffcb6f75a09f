// Runs a built example program and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

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

/// The lines of `s`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// How many of `v` equal `line`.
inline std::size_t count_of(const std::vector<std::string>& v, const std::string& line) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), line));
}

/// Index of the first line containing `needle`, or v.size().
inline std::size_t index_of(const std::vector<std::string>& v, const std::string& needle) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i].find(needle) != std::string::npos) return i;
  }
  return v.size();
}

}  // namespace braid::test
