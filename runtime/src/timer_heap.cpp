#include <braid/runtime/detail/timer_heap.hpp>

namespace braid::detail {

void TimerHeap::push(TimerNode& node) {
  if (node.queued()) remove(node);
  nodes_.push_back(&node);
  node.index = nodes_.size() - 1;
  sift_up(node.index);
}

void TimerHeap::remove(TimerNode& node) noexcept {
  if (!node.queued()) return;
  const std::size_t i = node.index;
  TimerNode* last = nodes_.back();
  nodes_.pop_back();
  node.index = TimerNode::kNotQueued;
  if (last == &node) return;
  place(i, last);
  // The moved node may belong above or below its new position.
  if (i > 0 && last->deadline < nodes_[(i - 1) / 2]->deadline) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

TimerNode* TimerHeap::pop() noexcept {
  TimerNode* first = top();
  if (first != nullptr) remove(*first);
  return first;
}

void TimerHeap::clear() noexcept {
  for (TimerNode* n : nodes_) n->index = TimerNode::kNotQueued;
  nodes_.clear();
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  TimerNode* n = nodes_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!(n->deadline < nodes_[parent]->deadline)) break;
    place(i, nodes_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  TimerNode* n = nodes_[i];
  const std::size_t count = nodes_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= count) break;
    if (child + 1 < count && nodes_[child + 1]->deadline < nodes_[child]->deadline) ++child;
    if (!(nodes_[child]->deadline < n->deadline)) break;
    place(i, nodes_[child]);
    i = child;
  }
  place(i, n);
}

}  // namespace braid::detail
