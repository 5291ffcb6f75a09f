// braid's runtime: the hub (one event loop per thread), waiting on descriptors, the
// thread pool for blocking calls, coroutine stacks, and the error types.
//
// What may switch: wait_readable, wait_writable and to_thread park the calling
// coroutine; outside any coroutine they run the hub until they can return.
#pragma once

#include <braid/runtime/diagnostics.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>
#include <braid/runtime/stack.hpp>
#include <braid/runtime/stats.hpp>
#include <braid/runtime/thread.hpp>
#include <braid/runtime/wait.hpp>
