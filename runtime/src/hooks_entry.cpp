// The entry table braid_hooks calls through (see detail/hooks_entry.hpp): each entry
// runs a runtime operation for the calling coroutine and turns what it throws into an
// errno code, putting a kill or timeout back on the coroutine for its next braid call.
#include <braid/runtime/detail/hooks_entry.hpp>

#include <braid/runtime/detail/clock.hpp>
#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/thread.hpp>
#include <braid/runtime/wait.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/context/fiber.hpp>

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

namespace braid::detail {
namespace {

int interrupt_errno(Interrupt kind) noexcept {
  switch (kind) {
    case Interrupt::kill:
      return ECANCELED;
    case Interrupt::timeout:
      return ETIMEDOUT;
    case Interrupt::none:
      break;
  }
  return 0;
}

// Runs `op(hub)` (which returns 0 or an errno); a kill or an enclosing Timeout it throws
// is re-armed on the running coroutine, so its next braid call throws it after the C
// code above the hook has returned normally.
template <class Op>
int guarded(Op&& op) {
  Hub& hub = *Hub::current_if_any();
  FiberRecord& self = detail::Scheduling::running(hub);
  try {
    return op(hub);
  } catch (const GreenletExit&) {
    detail::Scheduling::interrupt(hub, self, Interrupt::kill);
    return ECANCELED;
  } catch (const TimeoutError& e) {
    detail::Scheduling::interrupt(hub, self, Interrupt::timeout, e.source(), self.timeout_length);
    return ETIMEDOUT;
  } catch (const boost::context::detail::forced_unwind&) {
    throw;  // a coroutine being torn down: its unwinding must go on
  } catch (const std::system_error& e) {
    const bool is_errno = e.code().category() == std::generic_category() ||
                          e.code().category() == std::system_category();
    return is_errno && e.code().value() != 0 ? e.code().value() : EIO;
  } catch (...) {
    return EIO;
  }
}

int may_park() {
  const Hub* hub = Hub::current_if_any();
  return hub != nullptr && hub->in_coroutine() && !detail::Scheduling::in_hub_callback(*hub) ? 1
                                                                                             : 0;
}

int pending() { return interrupt_errno(Scheduling::running(*Hub::current_if_any()).pending); }

int cooperate() {
  return guarded([](Hub& hub) {
    hub.cooperate();
    return 0;
  });
}

std::optional<Duration> to_timeout(long long ns) {
  if (ns < 0) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ns));
}

// Waits through a private epoll set holding `fd`, never through an Asio descriptor made
// from a duplicate of `fd` (as braid::wait_readable does): Asio switches a descriptor it
// waits on to non-blocking, and a duplicate shares the open file and so its O_NONBLOCK
// flag, which would turn the application's blocking socket non-blocking under it.
int wait_fd(int fd, int writable, long long timeout_ns) {
  return guarded([&](Hub& hub) {
    detail::Scheduling::check_interrupt(hub);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return errno;
    boost::asio::posix::stream_descriptor set(hub.context());
    boost::system::error_code ec;
    set.assign(ep, ec);  // owns `ep` from here on, even on failure
    if (ec) {
      ::close(ep);
      return ec.category() == boost::system::system_category() ? ec.value() : EIO;
    }
    epoll_event ev{};
    ev.events = writable ? EPOLLOUT : (EPOLLIN | EPOLLRDHUP);
    ev.data.fd = fd;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      return errno == EPERM ? 0 : errno;  // EPERM: a regular file, always ready
    }
    ec = await_op([&](auto handler) { set.async_wait(set.wait_read, std::move(handler)); },
                  to_timeout(timeout_ns),
                  WaitInfo{writable ? "hooked call: fd writable" : "hooked call: fd readable", fd});
    if (ec == boost::asio::error::timed_out) return EAGAIN;
    if (!ec) return 0;
    return ec.category() == boost::system::system_category() ? ec.value() : EIO;
  });
}

int sleep_ns(long long ns) {
  return guarded([&](Hub& hub) {
    if (ns <= 0) {
      detail::Scheduling::yield(hub);
      return 0;
    }
    // Parks on nothing but its own deadline: the deadline's expiry is the wake-up.
    struct Sleeper {
      Hub* hub;
      FiberRecord* fiber;
    } s{&hub, &detail::Scheduling::running(hub)};
    Deadline deadline(to_timeout(ns));
    auto wake = [](void* p) noexcept {
      auto* sl = static_cast<Sleeper*>(p);
      detail::Scheduling::schedule(*sl->hub, *sl->fiber);
    };
    detail::Scheduling::park(hub, WaitInfo{"hooked sleep"}, wake, &s, deadline.id());
    return 0;
  });
}

int run_blocking(void (*fn)(void*), void* arg) {
  bool started = false;
  const int rc = guarded([&](Hub&) {
    run_on_thread_pool([&] {
      started = true;
      fn(arg);
    });
    return 0;
  });
  // Interrupts are delivered only once the job has finished; any other failure means the
  // job never ran (no thread could be started, say).
  return started || rc == 0 ? rc : EIO;
}

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

constexpr braid_hooks_entry kEntry{1,          sizeof(braid_hooks_entry),
                                   &may_park,  &pending,
                                   &cooperate, &wait_fd,
                                   &sleep_ns,  &run_blocking,
                                   &now_ns};

}  // namespace
}  // namespace braid::detail

extern "C" const braid_hooks_entry* braid_hooks_entry_v1(void) { return &braid::detail::kEntry; }
