#include <braid/hooks/hooks.hpp>

#include "common.hpp"

#include <sys/socket.h>

namespace braid::hooks {

// The process-wide definition of recv is the one the dynamic linker binds every library's
// calls to; it is this library's when the hooks are in effect.
bool installed() noexcept {
  void* global = ::dlsym(RTLD_DEFAULT, "recv");
  return global != nullptr && global == reinterpret_cast<void*>(&::recv);
}

}  // namespace braid::hooks
