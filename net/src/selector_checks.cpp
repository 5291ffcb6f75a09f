#include <braid/net/detail/selector_checks.hpp>
#include <braid/net/selector.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace braid::net::detail {

void check_events(unsigned events) {
  if (events == 0 || (events & ~(EVENT_READ | EVENT_WRITE)) != 0) {
    throw std::invalid_argument(
        fmt::format("selector: invalid events {:#x} (want EVENT_READ and/or EVENT_WRITE)", events));
  }
}

void check_fd(int fd, const char* what) {
  if (fd < 0) throw std::invalid_argument(fmt::format("{}: invalid descriptor {}", what, fd));
}

}  // namespace braid::net::detail
