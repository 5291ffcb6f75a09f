// The one file that reads Asio's private members (see asio_private.hpp for what and why).
// Explicit template instantiation may name private members ([temp.explicit]/12), which
// lets us read them without patching Asio. Every access is compiled only when
// BRAID_ASIO_PRIVATE is 1 (the Asio release it was checked against); otherwise each
// function takes the plain-Asio fallback its declaration documents.
#include "asio_private.hpp"

#include <boost/asio/detail/config.hpp>

#include <csignal>

#include <pthread.h>
#include <unistd.h>

#if BRAID_ASIO_PRIVATE
#include <boost/asio/detail/scheduler.hpp>
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#include <boost/asio/detail/io_uring_service.hpp>
#else
#include <boost/asio/detail/reactor.hpp>
#endif
// Brings in Asio's signal_state (defined in the .ipp: braid uses Asio header-only).
#include <boost/asio/detail/signal_set_service.hpp>
#endif

namespace braid::detail {

bool asio_private_access() noexcept { return BRAID_ASIO_PRIVATE != 0; }

#if BRAID_ASIO_PRIVATE && !defined(BOOST_ASIO_HAS_IOCP)
// ---- the scheduler's queue: is a handler next, or the reactor task?
namespace {
using AsioScheduler = boost::asio::detail::scheduler;
bool handler_queued_next(AsioScheduler& s) noexcept;
boost::asio::detail::conditionally_enabled_mutex& scheduler_mutex(AsioScheduler& s) noexcept;

template <auto Queue, auto Task, auto Mutex>
struct SchedulerAccess {
  friend bool handler_queued_next(AsioScheduler& s) noexcept {
    // (No local variable: GCC 12 rejects one in a friend defined in this template.)
    return (s.*Queue).front() != nullptr &&
           (s.*Queue).front() != static_cast<boost::asio::detail::scheduler_operation*>(&(s.*Task));
  }
  friend boost::asio::detail::conditionally_enabled_mutex& scheduler_mutex(
      AsioScheduler& s) noexcept {
    return s.*Mutex;
  }
};
template struct SchedulerAccess<&AsioScheduler::op_queue_, &AsioScheduler::task_operation_,
                                &AsioScheduler::mutex_>;
}  // namespace

OperationQueue::OperationQueue(boost::asio::io_context& ctx) noexcept
    : scheduler_(&boost::asio::use_service<AsioScheduler>(ctx)) {}

bool OperationQueue::handler_next(bool lock) const noexcept {
  auto& sched = *static_cast<AsioScheduler*>(scheduler_);
  if (!lock) return handler_queued_next(sched);
  boost::asio::detail::conditionally_enabled_mutex::scoped_lock guard(scheduler_mutex(sched));
  return handler_queued_next(sched);
}
#else
OperationQueue::OperationQueue(boost::asio::io_context&) noexcept : scheduler_(nullptr) {}
bool OperationQueue::handler_next(bool) const noexcept { return scheduler_ != nullptr; }
#endif

// ---- the reactor's descriptor, and io_uring's submission slots

#if BRAID_ASIO_PRIVATE && \
    (defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) || defined(BOOST_ASIO_HAS_EPOLL))
namespace {
template <typename Tag, typename Tag::type Member>
struct ExposeMember {
  friend typename Tag::type member_of(Tag) { return Member; }
};
}  // namespace
#endif

#if BRAID_ASIO_PRIVATE && defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
// The ring's descriptor polls readable while its completion queue holds entries, which is
// exactly when run_once()/poll() has work to collect.
namespace {
struct RingTag {
  using type = struct io_uring boost::asio::detail::io_uring_service::*;
  friend type member_of(RingTag);
};
template struct ExposeMember<RingTag, &boost::asio::detail::io_uring_service::ring_>;
}  // namespace

int reactor_native_handle(boost::asio::io_context& ctx) {
  auto& service = boost::asio::use_service<boost::asio::detail::io_uring_service>(ctx);
  return (service.*member_of(RingTag{})).ring_fd;
}

// interrupt() queues a no-op under the service's own lock; its completion makes the ring
// readable.
void reactor_wake_host(boost::asio::io_context& ctx) {
  boost::asio::use_service<boost::asio::detail::io_uring_service>(ctx).interrupt();
}

// Asio 1.81's io_uring service prepares its cancel requests (io_uring_prep_cancel, for a
// per-operation cancel, a close with operations pending, descriptor::cancel) and the
// timeout removal in run_one_until without setting their user data, and liburing 2.3's
// prep functions leave that field alone. Each such completion then carries whatever the
// slot held before: usually the io_queue of some earlier operation, which Asio completes
// with the cancel's result (-ENOENT, 0: an error or a false end of file on an unrelated
// socket, a re-armed read twice in flight), or a freed object or dead stack address.
// Under load this lost wake-ups and hung coroutines parked in recv (a plain Asio program
// with busy socket pairs and per-operation cancels shows it too; docs/portability.md).
// A completion whose user data is 0 is one Asio ignores, so every slot Asio can take
// next must hold 0. Slots are handed out in ring order; a slot becomes free again once
// the kernel has consumed it (its head passed it), and Asio takes it again only after
// the tail has gone round the whole ring (16,384 entries). Zeroing, once per loop turn,
// the free slots consumed since the previous turn keeps every slot clean before its
// reuse. Only free slots (logical indices [tail, head + entries)) are ever written.
namespace {
struct ScrubState {
  const struct io_uring* ring = nullptr;
  unsigned scrubbed_head = 0;  // the kernel's head at the previous scrub
};
thread_local ScrubState scrub_state;
}  // namespace

void reactor_scrub_submissions(boost::asio::io_context& ctx) noexcept {
  auto& service = boost::asio::use_service<boost::asio::detail::io_uring_service>(ctx);
  struct io_uring& ring = service.*member_of(RingTag{});
  if (ring.ring_fd < 0) return;
  struct io_uring_sq& sq = ring.sq;
  const unsigned head = io_uring_smp_load_acquire(sq.khead);
  const unsigned tail = sq.sqe_tail;
  const unsigned entries = sq.ring_entries;
  const unsigned end = head + entries;  // one past the last free logical index
  unsigned begin = scrub_state.scrubbed_head + entries;
  // A ring not seen before (a new io_context, a forked child's): scrub every free slot.
  if (scrub_state.ring != &ring) begin = tail;
  // Slots from the tail on up to the end are free; those before the tail are Asio's.
  if (static_cast<int>(tail - begin) > 0) begin = tail;
  for (unsigned i = begin; static_cast<int>(end - i) > 0; ++i) {
    sq.sqes[i & sq.ring_mask].user_data = 0;
  }
  scrub_state.ring = &ring;
  scrub_state.scrubbed_head = head;
}
#elif BRAID_ASIO_PRIVATE && defined(BOOST_ASIO_HAS_EPOLL)
namespace {
struct EpollFdTag {
  using type = int boost::asio::detail::epoll_reactor::*;
  friend type member_of(EpollFdTag);
};
template struct ExposeMember<EpollFdTag, &boost::asio::detail::epoll_reactor::epoll_fd_>;
}  // namespace

void reactor_scrub_submissions(boost::asio::io_context&) noexcept {}

int reactor_native_handle(boost::asio::io_context& ctx) {
  auto& reactor = boost::asio::use_service<boost::asio::detail::epoll_reactor>(ctx);
  return reactor.*member_of(EpollFdTag{});
}

// interrupt() re-arms the reactor's eventfd (EPOLL_CTL_MOD), an edge the epoll set reports.
void reactor_wake_host(boost::asio::io_context& ctx) {
  boost::asio::use_service<boost::asio::detail::epoll_reactor>(ctx).interrupt();
}
#else
int reactor_native_handle(boost::asio::io_context&) { return -1; }
void reactor_scrub_submissions(boost::asio::io_context&) noexcept {}
void reactor_wake_host(boost::asio::io_context&) {}
#endif

// ---- the process-wide signal state
#if BRAID_ASIO_PRIVATE
void reactor_forget_signals_after_fork() noexcept {
  boost::asio::detail::signal_state* state = boost::asio::detail::get_signal_state();
  // Another thread of the parent may have held the lock at the fork; none exists here.
  (void)::pthread_mutex_init(&state->mutex_.mutex_, nullptr);
  for (int sig = 1; sig < boost::asio::detail::max_signal_number; ++sig) {
    if (state->registration_count_[sig] == 0) continue;
    state->registration_count_[sig] = 0;
    (void)::signal(sig, SIG_DFL);
  }
  // The parent's services live in io_contexts the child leaked on purpose
  // (Hub::reset_after_fork): drop the list without touching them.
  state->service_list_ = nullptr;
  state->fork_prepared_ = false;
  if (state->read_descriptor_ != -1) (void)::close(state->read_descriptor_);
  if (state->write_descriptor_ != -1) (void)::close(state->write_descriptor_);
  state->read_descriptor_ = -1;
  state->write_descriptor_ = -1;
}
#else
void reactor_forget_signals_after_fork() noexcept {}
#endif

}  // namespace braid::detail
