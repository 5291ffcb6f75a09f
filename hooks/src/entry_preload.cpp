// Preloaded (libbraid_hooks_preload.so): the runtime is the program's, found by name once;
// without one (a program that does not use braid) every hook forwards to libc.
#include "common.hpp"

#include <atomic>

namespace braid::hooks::detail {
namespace {

const braid_hooks_entry* look_up() noexcept {
  using Getter = const braid_hooks_entry* (*)();
  auto get = reinterpret_cast<Getter>(::dlsym(RTLD_DEFAULT, "braid_hooks_entry_v1"));
  if (get == nullptr) return nullptr;
  const braid_hooks_entry* e = get();
  // Version 1's members are all this library uses; a later runtime only appends.
  return e != nullptr && e->version >= 1 && e->size >= sizeof(braid_hooks_entry) ? e : nullptr;
}

}  // namespace

const braid_hooks_entry* runtime_entry() noexcept {
  static const braid_hooks_entry* const entry = look_up();
  return entry;
}

}  // namespace braid::hooks::detail
