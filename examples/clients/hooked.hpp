// Whether this build of an example links braid_hooks (examples/clients/CMakeLists.txt
// builds each blocking-API example twice: <name>_hooked defines BRAID_CLIENTS_HOOKED).
#pragma once

namespace braid_clients {

#ifdef BRAID_CLIENTS_HOOKED
inline constexpr bool kHooked = true;
#else
inline constexpr bool kHooked = false;
#endif

/// For the first line of the examples' output.
inline constexpr const char* kHooksState = kHooked ? "linked" : "not linked";

}  // namespace braid_clients
