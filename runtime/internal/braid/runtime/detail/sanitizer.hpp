// AddressSanitizer must be told about every switch between stacks, or it reports false
// stack-buffer-overflows when exceptions unwind across coroutines. Outside ASan builds
// these are empty inline functions.
#pragma once

#include <cstddef>

#if defined(BRAID_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace braid::detail::sanitizer {

/// Before switching to the stack [bottom, bottom+size). `fake_stack` null on a final exit.
inline void start_switch(void** fake_stack, const void* bottom, std::size_t size) noexcept {
#if defined(BRAID_ASAN)
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack, (void)bottom, (void)size;
#endif
}

/// Right after arriving on a stack; reports the stack we came from.
inline void finish_switch(void* fake_stack, const void** from_bottom,
                          std::size_t* from_size) noexcept {
#if defined(BRAID_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, from_bottom, from_size);
#else
  (void)fake_stack, (void)from_bottom, (void)from_size;
#endif
}

}  // namespace braid::detail::sanitizer
