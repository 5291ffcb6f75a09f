// Linked into the program (braid::hooks): the runtime is the program's own.
#include "common.hpp"

namespace braid::hooks::detail {

const braid_hooks_entry* runtime_entry() noexcept { return braid_hooks_entry_v1(); }

}  // namespace braid::hooks::detail
