#include <braid/runtime/detail/deadline.hpp>

namespace braid::detail {

Deadline::Deadline(std::optional<Duration> d, const void* source) {
  if (!d) return;
  hub_ = &Hub::current();
  owner_ = &detail::Scheduling::running(*hub_);
  source_ = source != nullptr ? source : this;
  length_ = *d;
  armed_ = true;
  node_.deadline = Clock::now() + *d;
  node_.fire = &Deadline::fire;
  node_.arg = this;
  detail::Scheduling::add_timer(*hub_, node_);
}

void Deadline::cancel() noexcept {
  if (!armed_) return;
  detail::Scheduling::remove_timer(*hub_, node_);
  detail::Scheduling::clear_timeout(*hub_, *owner_, source_);
  armed_ = false;
}

void Deadline::fire(void* self) noexcept {
  auto* d = static_cast<Deadline*>(self);
  d->fired_ = true;
  detail::Scheduling::interrupt(*d->hub_, *d->owner_, Interrupt::timeout, d->source_, d->length_);
}

}  // namespace braid::detail
