// Symmetric switching on Boost.Context fibers. A switch hands the switcher's suspended
// continuation to the greenlet it resumes, which stores it back into the switcher
// (arrive()), so every suspended greenlet always owns its own continuation.
#include <braid/coro/greenlet.hpp>

#include <braid/runtime/detail/stack_pool.hpp>
#include <braid/runtime/hub.hpp>

#include <braid/runtime/detail/sanitizer.hpp>

#include <stdexcept>

namespace braid {
namespace {

thread_local Greenlet* t_switching_from = nullptr;  // who called switch_to() last
thread_local std::exception_ptr t_parent_error;     // escaped a dead greenlet
thread_local Greenlet* t_unwind_target = nullptr;   // who destroys a suspended greenlet

struct ImplicitGreenlets {
  // One implicit greenlet per context (main or a coroutine) that has used greenlets.
  std::vector<std::unique_ptr<Greenlet>> owned;
};

}  // namespace

Greenlet::Greenlet() : started_(true), implicit_(true) {}

Greenlet::Greenlet(std::function<void()> run) : run_(std::move(run)), parent_(&current()) {}

Greenlet::~Greenlet() {
  if (!started_ || dead_ || implicit_ || !cont_) return;
  // Suspended: unwind it as the greenlet module does, by raising GreenletExit at its
  // switch point, so its destructors run. Done here rather than by boost's fiber
  // destructor so that the switches are announced to AddressSanitizer.
  Greenlet& from = current();
  t_unwind_target = &from;
  t_switching_from = &from;
  detail::FiberRecord& rec = detail::Scheduling::running(Hub::current());
  rec.asan_stack_bottom = asan_bottom_;
  rec.asan_stack_size = asan_size_;
  detail::sanitizer::start_switch(&from.asan_fake_, asan_bottom_, asan_size_);
  Greenlet* self = this;
  boost::context::fiber back =
      std::move(cont_).resume_with([self](boost::context::fiber&& caller) -> boost::context::fiber {
        self->arrive(std::move(caller));
        throw GreenletExit{};
      });
  from.arrive(std::move(back));
  t_unwind_target = nullptr;
}

Greenlet& Greenlet::current() {
  detail::FiberRecord& rec = detail::Scheduling::running(Hub::current());
  if (rec.greenlet_current == nullptr) {
    auto* g = new Greenlet();
    static thread_local ImplicitGreenlets implicit;
    implicit.owned.emplace_back(g);
    rec.greenlet_current = g;
  }
  return *static_cast<Greenlet*>(rec.greenlet_current);
}

void Greenlet::arrive(boost::context::fiber&& from_cont) {
  const void* bottom = nullptr;
  std::size_t size = 0;
  detail::sanitizer::finish_switch(asan_fake_, &bottom, &size);
  if (t_switching_from != nullptr) {
    t_switching_from->asan_bottom_ = bottom;
    t_switching_from->asan_size_ = size;
    t_switching_from->cont_ = std::move(from_cont);
  }
  detail::FiberRecord& rec = detail::Scheduling::running(Hub::current());
  rec.greenlet_current = this;
  rec.asan_stack_bottom = implicit_ ? nullptr : asan_bottom_;
  rec.asan_stack_size = asan_size_;
}

boost::context::fiber Greenlet::entry(Greenlet* self, boost::context::fiber&& caller) {
  self->arrive(std::move(caller));
  try {
    self->run_();
  } catch (const boost::context::detail::forced_unwind&) {
    throw;
  } catch (const GreenletExit&) {
    // Killed by its destructor (or asked to exit): a normal death, not an error.
  } catch (...) {
    t_parent_error = std::current_exception();
  }
  self->dead_ = true;
  self->run_ = nullptr;
  // Control goes to whoever is unwinding us, else to the first live ancestor.
  Greenlet* next = t_unwind_target != nullptr ? t_unwind_target : self->parent_;
  while (next != nullptr && next->dead_) next = next->parent_;
  t_switching_from = nullptr;  // a dead greenlet keeps no continuation
  detail::FiberRecord& rec = detail::Scheduling::running(Hub::current());
  rec.greenlet_current = next;
  rec.asan_stack_bottom = next->implicit_ ? nullptr : next->asan_bottom_;
  rec.asan_stack_size = next->asan_size_;
  detail::sanitizer::start_switch(nullptr, next->asan_bottom_, next->asan_size_);
  return std::move(next->cont_);
}

void Greenlet::switch_to() {
  Greenlet& from = current();
  if (&from == this) return;
  if (dead_) throw std::logic_error("Greenlet.switch_to: the greenlet is dead");
  if (!started_) {
    started_ = true;
    cont_ = boost::context::fiber(
        std::allocator_arg, detail::PooledStack(stack_owner_),
        [this](boost::context::fiber&& caller) { return entry(this, std::move(caller)); });
    asan_bottom_ = stack_owner_.stack.base;
    asan_size_ = stack_owner_.stack.size;
  }
  t_switching_from = &from;
  // The coroutine (or main) now continues on this greenlet's stack; the hub must know
  // for AddressSanitizer when it suspends and resumes it there.
  detail::FiberRecord& rec = detail::Scheduling::running(Hub::current());
  rec.asan_stack_bottom = asan_bottom_;
  rec.asan_stack_size = asan_size_;
  detail::sanitizer::start_switch(&from.asan_fake_, asan_bottom_, asan_size_);
  boost::context::fiber back = std::move(cont_).resume();
  from.arrive(std::move(back));
  if (t_parent_error) {
    std::exception_ptr e = std::exchange(t_parent_error, nullptr);
    std::rethrow_exception(e);
  }
}

}  // namespace braid
