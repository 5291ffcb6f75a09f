// A descriptor closed on scope exit unless released: for set-up paths that may throw.
#pragma once

#include <unistd.h>

namespace braid::net::detail {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;  // owned descriptor, -1 once released
};

}  // namespace braid::net::detail
