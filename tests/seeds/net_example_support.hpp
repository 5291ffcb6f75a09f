// Runs a networking example as a server process: waits (bounded) for its "listening on
// PORT" line, and stops it with SIGTERM, collecting the rest of its output.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace braid::test {

class ServerProcess {
 public:
  /// Starts BRAID_EXAMPLES_DIR/<name> with `args`, stdout (and stderr) to a pipe.
  ServerProcess(const std::string& name, std::vector<std::string> args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const std::string path = std::string(BRAID_EXAMPLES_DIR) + "/" + name;
    std::vector<char*> argv{const_cast<char*>(path.c_str())};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::execv(path.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  /// The port from "listening on PORT"; 0 if it did not appear within `limit`.
  int wait_port(std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    static const std::regex re("listening on (\\d+)");
    const auto until = std::chrono::steady_clock::now() + limit;
    std::smatch m;
    while (!std::regex_search(output_, m, re)) {
      if (!read_some(until)) return 0;
    }
    return std::stoi(m[1]);
  }

  /// The first match of `re` in the output and its groups (copies), waiting (bounded) for
  /// it; empty if it did not appear within `limit`.
  std::vector<std::string> wait_for(const std::regex& re,
                                    std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    std::smatch m;
    while (!std::regex_search(output_, m, re)) {
      if (!read_some(until)) return {};
    }
    return {m.begin(), m.end()};
  }

  /// Sends `sig` and waits (bounded) for the exit; returns the exit code (-signal if
  /// killed by one, -1000 on timeout). Output read meanwhile is in output().
  int stop(int sig = SIGTERM, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    ::kill(pid_, sig);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (read_some(until)) {
    }
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() > until) return -1000;
      ::usleep(10000);
    }
  }

  const std::string& output() const { return output_; }

 private:
  // Reads what is available before `until`; false at EOF or timeout.
  bool read_some(std::chrono::steady_clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string output_;
};

}  // namespace braid::test
