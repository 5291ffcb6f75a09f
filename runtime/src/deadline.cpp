#include <braid/runtime/detail/deadline.hpp>

namespace braid::detail {

Deadline::Deadline(std::optional<Duration> d, const void* source) {
  if (!d) return;
  hub_ = &Hub::current();
  owner_ = &hub_->running();
  source_ = source != nullptr ? source : this;
  length_ = *d;
  armed_ = true;
  node_.deadline = Clock::now() + *d;
  node_.fire = &Deadline::fire;
  node_.arg = this;
  hub_->add_timer(node_);
}

void Deadline::cancel() noexcept {
  if (!armed_) return;
  hub_->remove_timer(node_);
  hub_->clear_timeout(*owner_, source_);
  armed_ = false;
}

void Deadline::fire(void* self) noexcept {
  auto* d = static_cast<Deadline*>(self);
  d->fired_ = true;
  d->hub_->interrupt(*d->owner_, Interrupt::timeout, d->source_, d->length_);
}

}  // namespace braid::detail
