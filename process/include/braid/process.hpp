// braid's process module (includes <braid/coro.hpp>): Process, Pipe/Connection,
// process-shared Queue/JoinableQueue, Lock/RLock/Semaphore/BoundedSemaphore/Event/
// Condition/Barrier, Value/Array, Manager, the worker Pool, subprocess and shlex.
//
// What may switch: Process::join; Connection send/recv/poll; Queue put/get and
// JoinableQueue::join; acquire/lock/wait of the shared primitives; Manager proxy calls;
// Pool and subprocess calls (see their headers). Each parks only the calling coroutine;
// in main each runs the hub until it can return. Everything else returns at once.
#pragma once

#include <braid/coro.hpp>
#include <braid/process/connection.hpp>
#include <braid/process/process.hpp>
#include <braid/process/queue.hpp>
#include <braid/process/shared_memory.hpp>
#include <braid/process/shlex.hpp>
#include <braid/process/synchronize.hpp>
#if __has_include(<braid/process/manager.hpp>)
#include <braid/process/manager.hpp>
#endif
#if __has_include(<braid/process/pool.hpp>)
#include <braid/process/pool.hpp>
#endif
#if __has_include(<braid/process/subprocess.hpp>)
#include <braid/process/subprocess.hpp>
#endif
