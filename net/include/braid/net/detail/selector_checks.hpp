// Internal: argument checks shared by net::select and BasicSelector (their readiness set
// is runtime's detail::ReadinessSet).
#pragma once

namespace braid::net::detail {

/// Checks a selector events mask: std::invalid_argument unless it is a non-empty
/// combination of EVENT_READ and EVENT_WRITE.
void check_events(unsigned events);
/// std::invalid_argument for a negative descriptor.
void check_fd(int fd, const char* what);

}  // namespace braid::net::detail
