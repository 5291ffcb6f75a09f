#include <braid/runtime/detail/timer_heap.hpp>

namespace braid::detail {

void TimerHeap::push(TimerNode& node) {
  if (node.queued()) remove(node);
  entries_.push_back(Entry{node.deadline, &node});
  sift_up(entries_.size() - 1, entries_.back());
}

void TimerHeap::remove(TimerNode& node) noexcept {
  if (!node.queued()) return;
  const std::size_t i = node.index;
  node.index = TimerNode::kNotQueued;
  const Entry last = entries_.back();
  entries_.pop_back();
  if (last.node == &node) return;
  // The moved entry may belong above or below its new position.
  if (i > 0 && last.deadline < entries_[(i - 1) / kArity].deadline) {
    sift_up(i, last);
  } else {
    sift_down(i, last);
  }
}

TimerNode* TimerHeap::pop() noexcept {
  TimerNode* first = top();
  if (first != nullptr) remove(*first);
  return first;
}

void TimerHeap::clear() noexcept {
  for (const Entry& e : entries_) e.node->index = TimerNode::kNotQueued;
  entries_.clear();
}

// Moves the hole at `i` up until `e` fits, then puts `e` there.
void TimerHeap::sift_up(std::size_t i, Entry e) noexcept {
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!(e.deadline < entries_[parent].deadline)) break;
    place(i, entries_[parent]);
    i = parent;
  }
  place(i, e);
}

// Moves the hole at `i` down past smaller children until `e` fits, then puts `e` there.
void TimerHeap::sift_down(std::size_t i, Entry e) noexcept {
  const std::size_t count = entries_.size();
  for (;;) {
    const std::size_t first = kArity * i + 1;
    if (first >= count) break;
    const std::size_t end = first + kArity < count ? first + kArity : count;
    std::size_t best = first;
    for (std::size_t c = first + 1; c < end; ++c) {
      if (entries_[c].deadline < entries_[best].deadline) best = c;
    }
    if (!(entries_[best].deadline < e.deadline)) break;
    place(i, entries_[best]);
    i = best;
  }
  place(i, e);
}

}  // namespace braid::detail
