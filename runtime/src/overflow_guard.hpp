// Reports a coroutine stack overflow by name instead of a bare SIGSEGV.
#pragma once

namespace braid::detail {
/// Installs (once per process) the SIGSEGV handler and (once per thread) the alternate
/// signal stack it runs on. No-op under AddressSanitizer, which reports overflows itself.
void install_overflow_guard();
}  // namespace braid::detail
