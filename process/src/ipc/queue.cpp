#include <braid/process/queue.hpp>

#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace braid::process::detail {

struct QueueCore::State {
  SharedMutex m;
  SharedCondState not_empty;
  SharedCondState not_full;
  SharedCondState all_done;
  std::uint64_t head = 0;        // byte position of the oldest record (monotonic)
  std::uint64_t tail = 0;        // byte position after the newest record (monotonic)
  std::uint64_t items = 0;       // records stored
  std::uint64_t unfinished = 0;  // put minus task_done (JoinableQueue)
  std::uint64_t maxsize;         // 0 = no item limit
  std::uint64_t capacity;        // ring bytes
  State(std::size_t max, std::size_t cap) : maxsize(max), capacity(cap) { m.init(); }
};

namespace {
constexpr std::size_t kRecordHeader = sizeof(std::uint32_t);
}

QueueCore::QueueCore(std::size_t maxsize, std::size_t capacity_bytes) {
  if (capacity_bytes < 64) throw std::invalid_argument("Queue capacity below 64 bytes");
  block_ = std::make_unique<SharedBlock<State>>(capacity_bytes, maxsize, capacity_bytes);
  not_empty_ = std::make_unique<SharedCond>(&(*block_)->not_empty);
  not_full_ = std::make_unique<SharedCond>(&(*block_)->not_full);
  all_done_ = std::make_unique<SharedCond>(&(*block_)->all_done);
}

QueueCore::~QueueCore() = default;

std::size_t QueueCore::maxsize() const noexcept { return (*block_)->maxsize; }
std::size_t QueueCore::capacity_bytes() const noexcept { return (*block_)->capacity; }

bool QueueCore::has_room(const State& s, std::size_t need) const noexcept {
  if (s.maxsize != 0 && s.items >= s.maxsize) return false;
  return s.capacity - (s.tail - s.head) >= need;
}

void QueueCore::copy_in(std::uint64_t pos, const std::byte* src, std::size_t n) noexcept {
  const std::uint64_t cap = (*block_)->capacity;
  const std::size_t at = pos % cap;
  const std::size_t first = std::min<std::size_t>(n, cap - at);
  std::memcpy(block_->extra() + at, src, first);
  if (first < n) std::memcpy(block_->extra(), src + first, n - first);
}

void QueueCore::copy_out(std::uint64_t pos, std::byte* dst, std::size_t n) const noexcept {
  const std::uint64_t cap = (*block_)->capacity;
  const std::size_t at = pos % cap;
  const std::size_t first = std::min<std::size_t>(n, cap - at);
  std::memcpy(dst, block_->extra() + at, first);
  if (first < n) std::memcpy(dst + first, block_->extra(), n - first);
}

void QueueCore::check_open(const char* what) const {
  if (closed_) throw std::logic_error(fmt::format("Queue::{}: the queue is closed", what));
}

void QueueCore::join_thread() const {
  if (!closed_) throw std::logic_error("Queue::join_thread: the queue is not closed");
}

bool QueueCore::put(std::span<const std::byte> item, bool block, std::optional<Duration> timeout) {
  check_open("put");
  // A put with room (or a get of a non-empty queue) does not park: a producer loop would
  // keep the hub waiting. The *_nowait forms never switch.
  if (block) Hub::current().cooperate();
  State& s = *block_->get();
  const std::size_t need = kRecordHeader + item.size();
  if (need > s.capacity) {
    throw std::length_error(fmt::format(
        "Queue::put: an item of {} bytes does not fit the queue's {}-byte ring (QueueOptions)",
        item.size(), s.capacity));
  }
  const braid::detail::CallDeadline until(timeout);
  SharedLockGuard g(s.m);
  while (!has_room(s, need)) {
    if (!block || until.passed()) return false;
    not_full_->wait(s.m, until.remaining());
  }
  const auto len = static_cast<std::uint32_t>(item.size());
  copy_in(s.tail, reinterpret_cast<const std::byte*>(&len), kRecordHeader);
  copy_in(s.tail + kRecordHeader, item.data(), item.size());
  // Published only once complete: a producer killed mid-copy loses just its own item.
  s.tail += need;
  ++s.items;
  ++s.unfinished;
  not_empty_->notify(1);
  return true;
}

bool QueueCore::get(std::vector<std::byte>& out, bool block, std::optional<Duration> timeout) {
  check_open("get");
  if (block) Hub::current().cooperate();  // as in put()
  State& s = *block_->get();
  const braid::detail::CallDeadline until(timeout);
  SharedLockGuard g(s.m);
  while (s.items == 0) {
    if (!block || until.passed()) return false;
    not_empty_->wait(s.m, until.remaining());
  }
  std::uint32_t len = 0;
  copy_out(s.head, reinterpret_cast<std::byte*>(&len), kRecordHeader);
  out.resize(len);
  copy_out(s.head + kRecordHeader, out.data(), len);
  s.head += kRecordHeader + len;
  --s.items;
  // Room may now suit any of the waiting producers (items differ in size): wake them all.
  not_full_->notify_all();
  return true;
}

std::size_t QueueCore::size() const {
  SharedLockGuard g((*block_)->m);
  return (*block_)->items;
}

bool QueueCore::full() const {
  SharedLockGuard g((*block_)->m);
  const State& s = *block_->get();
  return s.maxsize != 0 && s.items >= s.maxsize;
}

void QueueCore::task_done() {
  State& s = *block_->get();
  SharedLockGuard g(s.m);
  if (s.unfinished == 0) throw std::logic_error("task_done() called too many times");
  if (--s.unfinished == 0) all_done_->notify_all();
}

bool QueueCore::join(std::optional<Duration> timeout) {
  State& s = *block_->get();
  const braid::detail::CallDeadline until(timeout);
  SharedLockGuard g(s.m);
  while (s.unfinished != 0) {
    if (until.passed()) return false;
    all_done_->wait(s.m, until.remaining());
  }
  return true;
}

void throw_queue_full() { throw QueueFull("Queue::put: the queue is full"); }
void throw_queue_empty() { throw QueueEmpty("Queue::get: the queue is empty"); }

}  // namespace braid::process::detail
