// braid's coroutines: spawn, Task, sleep, Timeout, Event, AsyncResult, Semaphore, Lock,
// RLock, Queue, JoinableQueue, Channel, Group, Pool, Greenlet and signal handlers
// (includes runtime.hpp).
//
// What may switch: Task::get/join/kill(block), joinall, killall(block), wait/iwait,
// sleep, yield_now, the wait/acquire/get/put family, Group::join and wait_signal. Each
// parks only the calling coroutine; in the root context (main) each runs the hub until
// it can return. try_* calls never park.
#pragma once

#include <braid/coro/channel.hpp>
#include <braid/coro/event.hpp>
#include <braid/coro/greenlet.hpp>
#include <braid/coro/group.hpp>
#include <braid/coro/hub_thread.hpp>
#include <braid/coro/queue.hpp>
#include <braid/coro/semaphore.hpp>
#include <braid/coro/signal.hpp>
#include <braid/coro/sleep.hpp>
#include <braid/coro/task.hpp>
#include <braid/coro/timeout.hpp>
#include <braid/coro/wait.hpp>
#include <braid/runtime.hpp>
