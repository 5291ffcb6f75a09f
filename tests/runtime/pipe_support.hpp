// Pipes for the descriptor tests (FdWatcher, ReadinessSet, UniqueFd, detail::sys).
#pragma once

#include <braid/runtime/detail/unique_fd.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace braid::test {

/// Both ends non-blocking and close-on-exec; an end set to -1 is not closed again.
struct NonBlockingPipe {
  int r = -1, w = -1;
  NonBlockingPipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    r = fds[0];
    w = fds[1];
  }
  NonBlockingPipe(const NonBlockingPipe&) = delete;
  NonBlockingPipe& operator=(const NonBlockingPipe&) = delete;
  ~NonBlockingPipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void put(char c) const { REQUIRE(::write(w, &c, 1) == 1); }
};

/// Both ends of a fresh blocking pipe, each owned.
struct OwnedPipe {
  braid::detail::UniqueFd r, w;
  OwnedPipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
};

/// Writes to `fd` until a write would block.
inline void fill(int fd) {
  static const char chunk[4096] = {};
  while (::write(fd, chunk, sizeof chunk) > 0) {
  }
  REQUIRE(errno == EAGAIN);
}

}  // namespace braid::test
