// Small formatting helpers shared by braid's error messages.
#pragma once

#include <chrono>
#include <string>

namespace braid::detail {
/// "250ms", "1.5s", "40us", "3ns": the shortest exact-enough unit for a message.
std::string format_duration(std::chrono::nanoseconds d);
}  // namespace braid::detail
