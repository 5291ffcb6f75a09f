// Preloaded (libbraid_hooks_preload.so): the runtime is the program's, found by name once;
// without one (a program that does not use braid) every hook forwards to libc.
#include "common.hpp"

#include <atomic>
#include <cstddef>

namespace braid::hooks::detail {
namespace {

const braid_hooks_entry* look_up() noexcept {
  using Getter = const braid_hooks_entry* (*)();
  auto get = reinterpret_cast<Getter>(::dlsym(RTLD_DEFAULT, "braid_hooks_entry_v1"));
  if (get == nullptr) return nullptr;
  const braid_hooks_entry* e = get();
  // Version 1's first members are what this library needs; later ones (now_ns) are
  // appended, and used only when `size` says the runtime has them.
  if (e == nullptr || e->version < 1) return nullptr;
  return e->size >= offsetof(braid_hooks_entry, now_ns) ? e : nullptr;
}

}  // namespace

const braid_hooks_entry* runtime_entry() noexcept {
  static const braid_hooks_entry* const entry = look_up();
  return entry;
}

}  // namespace braid::hooks::detail
