// Sleeping and yielding.
#pragma once

#include <braid/runtime/hub.hpp>

namespace braid {

/// Parks the calling coroutine for `d` (other coroutines run meanwhile). sleep(0s) just
/// yields. Outside any coroutine it runs the hub for `d`. Throws GreenletExit when
/// killed and TimeoutError when an enclosing Timeout fires.
void sleep(Duration d);

/// Lets every other ready coroutine run once, then continues. In the root context it
/// runs one non-blocking turn of the loop.
void yield_now();

}  // namespace braid
