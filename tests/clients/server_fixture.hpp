// Pieces shared by the server fixtures of the client tests (redis_server.hpp,
// postgres_server.hpp): a temporary folder, a free loopback port, a server child process
// with its output in a log file, and bounded polling for readiness.
#pragma once

#include <braid/coro.hpp>
#include <braid/net.hpp>
#include <braid/process.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace braid::test::clients {

using Clock = std::chrono::steady_clock;
namespace sp = braid::subprocess;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// What the environment cannot give a test (a user to switch to, ...): the test is
/// skipped with this message instead of failed.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A folder under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    }
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const noexcept { return path_; }

  /// Gives the folder to `uid`/`gid` (a server that runs as another user writes in it).
  void give_to(uid_t uid, gid_t gid) const {
    if (::chown(path_.c_str(), uid, gid) != 0) {
      throw std::system_error(errno, std::generic_category(), "chown " + path_);
    }
  }

 private:
  std::string path_;
};

/// A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0 and
/// released). Another process may take it before the server does: callers retry.
inline std::uint16_t free_port() {
  auto l = braid::net::TcpListener::bind("127.0.0.1", 0);
  const std::uint16_t port = l.port();
  l.close();
  return port;
}

/// The first of `candidates` that is an executable file, or nullopt.
inline std::optional<std::string> find_program(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  return std::nullopt;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A server process with stdout and stderr in `log`. The destructor stops it: `stop_signal`
/// first, SIGKILL if it has not exited within 10 s.
class ServerChild {
 public:
  ServerChild(std::vector<std::string> args, std::string log, int stop_signal, sp::Options o = {})
      : log_(std::move(log)), stop_signal_(stop_signal) {
    o.in = sp::DEVNULL;
    o.out = sp::File{log_};
    o.err = sp::STDOUT;
    proc_.emplace(std::move(args), std::move(o));
  }
  ServerChild(const ServerChild&) = delete;
  ServerChild& operator=(const ServerChild&) = delete;
  ~ServerChild() { stop(); }

  /// The exit code if it has exited (-N: killed by signal N).
  std::optional<int> exited() { return proc_ ? proc_->poll() : std::nullopt; }
  const std::string& log_path() const noexcept { return log_; }
  std::string log() const { return read_text(log_); }

  /// Waits (bounded) for it to exit by itself; its exit code.
  /// @throws subprocess::TimeoutExpired  still running after `limit`.
  int wait(std::chrono::milliseconds limit) { return proc_->wait(limit); }

  /// Stops it (see the class comment) and returns how it ended; idempotent.
  std::optional<int> stop() noexcept {
    if (!proc_) return result_;
    try {
      if (!proc_->poll()) {
        proc_->send_signal(stop_signal_);
        try {
          proc_->wait(std::chrono::seconds(10));
        } catch (const sp::TimeoutExpired&) {
          proc_->kill();
          proc_->wait(std::chrono::seconds(10));
        }
      }
      result_ = proc_->returncode();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "stopping %s: %s\n", proc_->args().at(0).c_str(), e.what());
    }
    proc_.reset();
    return result_;
  }

 private:
  std::string log_;
  int stop_signal_;
  std::optional<sp::Popen> proc_;
  std::optional<int> result_;
};

/// Polls `ready()` every 20 ms until it is true; std::runtime_error (with the server's
/// log) when `child` exits first or `limit` passes.
inline void wait_ready(ServerChild& child, const std::string& what,
                       const std::function<bool()>& ready,
                       std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto until = Clock::now() + limit;
  for (;;) {
    if (ready()) return;
    if (const auto code = child.exited()) {
      throw std::runtime_error(what + " exited (status " + std::to_string(*code) +
                               ") before it was ready; its log:\n" + child.log());
    }
    if (Clock::now() > until) {
      throw std::runtime_error(what + " not ready within " + std::to_string(limit.count()) +
                               " ms; its log:\n" + child.log());
    }
    braid::sleep(std::chrono::milliseconds(20));
  }
}

}  // namespace braid::test::clients
