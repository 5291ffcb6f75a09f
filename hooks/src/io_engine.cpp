#include "io_engine.hpp"

namespace braid::hooks::detail {

std::vector<iovec> iov_after(const iovec* iov, std::size_t count, std::size_t skip) {
  std::vector<iovec> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (skip >= iov[i].iov_len) {
      skip -= iov[i].iov_len;
      continue;
    }
    out.push_back(iovec{static_cast<char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip});
    skip = 0;
  }
  return out;
}

std::size_t iov_total(const iovec* iov, std::size_t count) noexcept {
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) total += iov[i].iov_len;
  return total;
}

bool is_stream(int fd) noexcept {
  int type = 0;
  socklen_t len = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

}  // namespace braid::hooks::detail
