// An owned descriptor, closed once on destruction or reset: the one owner every module
// uses for descriptors it opens (sockets, pipes, eventfds, pidfds, memfds). Internal: not
// part of the public API.
//
// Closing never retries on EINTR. On Linux close(2) releases the descriptor before it can
// be interrupted, so a retry would close whatever another thread opened under that number
// meanwhile; the error, like any error from close, is dropped (there is nothing the owner
// could do with it, and a destructor cannot report it).
#pragma once

#include <unistd.h>

#include <utility>

namespace braid::detail {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  /// Takes ownership of `fd`; a negative value means "none".
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  /// The descriptor, or -1 when none is owned; ownership stays here.
  int get() const noexcept { return fd_; }
  /// Gives up ownership without closing: returns the descriptor (-1 when none).
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the owned descriptor (once, see above) and takes `fd` instead.
  void reset(int fd = -1) noexcept {
    const int old = std::exchange(fd_, fd);
    if (old >= 0) (void)::close(old);
  }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;  // owned descriptor, -1 when none
};

}  // namespace braid::detail
