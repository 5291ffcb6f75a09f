// braid::process::Queue and JoinableQueue: FIFO queues shared by processes (Python's
// multiprocessing.Queue / JoinableQueue).
//
// Items are serialised with cereal (as Connection::send) into a ring buffer in shared
// memory, guarded by a process-shared mutex; waiting for an item or for room parks on an
// eventfd (see detail/shared_state.hpp), so put() and get() park only the calling
// coroutine. Create the queue before starting the processes that use it; the object is a
// copyable handle (pass it as a Process argument). Any number of producers and consumers
// in any number of processes: every item is delivered exactly once, in the order of the
// put() calls that stored it (FIFO per producer, and globally).
//
// "Unbounded" (maxsize 0) is bounded by bytes: the ring holds `capacity_bytes` of
// encoded items (16 MiB by default, committed only as it is touched), and put() waits for
// room when it is full. An item larger than the whole ring is std::length_error.
//
// What may switch: put (while full), get (while empty) and JoinableQueue::join park the
// calling coroutine; in main they run the hub. try_put, try_get, qsize, empty, full and
// task_done never park.
#pragma once

#include <braid/process/detail/frame.hpp>
#include <braid/process/detail/shared_state.hpp>
#include <braid/runtime/hub.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace braid::process {

namespace detail {

/// The byte-level queue under Queue<T>: records of [u32 length][bytes] in a ring.
class QueueCore {
 public:
  QueueCore(std::size_t maxsize, std::size_t capacity_bytes);
  ~QueueCore();
  QueueCore(const QueueCore&) = delete;
  QueueCore& operator=(const QueueCore&) = delete;

  /// Stores one record, parking while full. False when `timeout` elapsed (or, with
  /// `block` false, at once when full).
  bool put(std::span<const std::byte> item, bool block, std::optional<Duration> timeout);
  /// Takes the oldest record into `out`, parking while empty. False on timeout / empty.
  bool get(std::vector<std::byte>& out, bool block, std::optional<Duration> timeout);
  std::size_t size() const;
  std::size_t maxsize() const noexcept;
  std::size_t capacity_bytes() const noexcept;
  bool full() const;
  void task_done();
  bool join(std::optional<Duration> timeout);
  /// Marks the queue closed in this process (put and get are then std::logic_error).
  void close() noexcept { closed_ = true; }
  bool closed() const noexcept { return closed_; }
  /// std::logic_error unless close() was called.
  void join_thread() const;

 private:
  void check_open(const char* what) const;
  struct State;
  bool has_room(const State& s, std::size_t need) const noexcept;
  void copy_in(std::uint64_t pos, const std::byte* src, std::size_t n) noexcept;
  void copy_out(std::uint64_t pos, std::byte* dst, std::size_t n) const noexcept;

  std::unique_ptr<SharedBlock<State>> block_;
  std::unique_ptr<SharedCond> not_empty_;
  std::unique_ptr<SharedCond> not_full_;
  std::unique_ptr<SharedCond> all_done_;
  bool closed_ = false;  // this process's close(); the shared ring is not affected
};

}  // namespace detail

/// Tuning for a Queue beyond maxsize.
struct QueueOptions {
  /// Bytes of encoded items the ring holds (each item costs its encoding + 4 bytes).
  std::size_t capacity_bytes = std::size_t{16} << 20;
};

/// A FIFO queue shared by processes. maxsize 0 = no limit on the number of items.
///
/// @par Example
/// @code
///   braid::process::Queue<int> q(5);
///   braid::process::Process producer([](braid::process::Queue<int> q) {
///     for (int i = 0; i < 10; ++i) q.put(i);    // parks while 5 are queued
///   }, q);
///   producer.start();
///   for (int i = 0; i < 10; ++i) std::printf("%d\n", q.get());
///   producer.join();
/// @endcode
template <class T>
class Queue {
 public:
  explicit Queue(std::size_t maxsize = 0, QueueOptions o = {})
      : core_(std::make_shared<detail::QueueCore>(maxsize, o.capacity_bytes)) {}

  /// Adds `v`, parking while the queue is full. QueueFull when `timeout` elapsed first
  /// (nothing is added); std::length_error when the item exceeds the ring's capacity.
  void put(const T& v, std::optional<Duration> timeout = {}) {
    if (!core_->put(encode(v), true, timeout)) throw_full();
  }
  /// Removes and returns the oldest item, parking while empty. QueueEmpty on timeout;
  /// FrameError when the stored bytes are not a T (producer and consumer disagree).
  T get(std::optional<Duration> timeout = {}) {
    std::vector<std::byte> buf;
    if (!core_->get(buf, true, timeout)) throw_empty();
    return detail::decode_value<T>(buf);
  }
  /// put/get without parking: false / nullopt instead of waiting.
  bool try_put(const T& v) { return core_->put(encode(v), false, std::nullopt); }
  std::optional<T> try_get() {
    std::vector<std::byte> buf;
    if (!core_->get(buf, false, std::nullopt)) return std::nullopt;
    return detail::decode_value<T>(buf);
  }
  void put_nowait(const T& v) {
    if (!try_put(v)) throw_full();
  }
  T get_nowait() {
    auto v = try_get();
    if (!v) throw_empty();
    return std::move(*v);
  }

  /// Items in the queue now (exact: the count is kept in shared memory).
  std::size_t qsize() const { return core_->size(); }
  bool empty() const { return core_->size() == 0; }
  bool full() const { return core_->full(); }
  std::size_t maxsize() const noexcept { return core_->maxsize(); }

  /// Says this process will put no more items (Python's Queue.close()): afterwards put,
  /// get and their variants in this process are std::logic_error ("Queue is closed";
  /// Python: ValueError), while qsize/empty/full still answer. Copies of the handle in
  /// this process share the flag; other processes, and children forked before the call,
  /// are not affected. Items already put stay in the queue for the other processes:
  /// put() copies its item into the shared ring before it returns, so there is no feeder
  /// thread whose buffer close() could lose or would have to flush. Idempotent.
  void close() noexcept { core_->close(); }
  /// Python's join_thread(): waits for the feeder thread to flush. braid has none (see
  /// close()), so it returns at once; std::logic_error when close() was not called, as
  /// Python's assertion.
  void join_thread() const { core_->join_thread(); }
  /// Python's cancel_join_thread(): nothing to cancel; accepted at any time.
  void cancel_join_thread() const noexcept {}

 protected:
  detail::QueueCore& core() const noexcept { return *core_; }

 private:
  static std::vector<std::byte> encode(const T& v) {
    std::vector<std::byte> out;
    detail::serialize_into(out, v);
    return out;
  }
  [[noreturn]] static void throw_full();
  [[noreturn]] static void throw_empty();

  std::shared_ptr<detail::QueueCore> core_;
};

/// A Queue that also counts unfinished items: task_done() marks one processed, join()
/// waits until every item put has been marked.
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  using Queue<T>::Queue;
  /// std::logic_error when called more times than items were put.
  void task_done() { this->core().task_done(); }
  /// Parks until every item put so far was marked done (true) or `timeout` elapsed.
  bool join(std::optional<Duration> timeout = {}) { return this->core().join(timeout); }
};

namespace detail {
[[noreturn]] void throw_queue_full();
[[noreturn]] void throw_queue_empty();
}  // namespace detail

template <class T>
void Queue<T>::throw_full() {
  detail::throw_queue_full();
}
template <class T>
void Queue<T>::throw_empty() {
  detail::throw_queue_empty();
}

}  // namespace braid::process
