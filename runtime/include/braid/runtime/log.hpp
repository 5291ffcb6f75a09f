// braid's logger: one spdlog logger named "braid" writing to stderr, its level taken
// from the BRAID_LOG environment variable (trace, debug, info, warn, error, critical,
// off; default warn).
#pragma once

#include <spdlog/spdlog.h>

namespace braid::detail {
/// The "braid" logger, created on first use.
spdlog::logger& log();
}  // namespace braid::detail
