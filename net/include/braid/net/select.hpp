// select(): Python's select.select on raw descriptors, parking only the calling coroutine.
#pragma once

#include <braid/runtime/hub.hpp>

#include <optional>
#include <span>
#include <vector>

namespace braid::net {

/// The descriptors of each input set that are ready, in input order.
struct SelectResult {
  std::vector<int> readable;     // readable, at EOF, or with an error pending
  std::vector<int> writable;     // writable, or with an error pending
  std::vector<int> exceptional;  // urgent (out-of-band) data pending
};

/// Waits until at least one descriptor of `r` is readable, of `w` writable or of `x`
/// has an exceptional condition, or until `timeout` passes (then every list is empty;
/// Duration::zero() = just poll). Parks only the calling coroutine; no FD_SETSIZE limit.
/// @throws std::invalid_argument  a negative descriptor.
/// @throws std::system_error      a descriptor that is not open ("select: fd 99: Bad
///                                file descriptor").
/// @throws TimeoutError           an enclosing braid::Timeout fired.
/// @par Example
/// @code
///   std::vector<int> inputs{listener.native_handle()};
///   auto [readable, writable, exceptional] = braid::net::select(inputs, {}, inputs);
/// @endcode
SelectResult select(std::span<const int> r, std::span<const int> w, std::span<const int> x,
                    std::optional<Duration> timeout = {});

}  // namespace braid::net
