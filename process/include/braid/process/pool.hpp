// braid::process::Pool: a pool of worker processes fed by the hub (Python's
// multiprocessing.Pool), so CPU-bound work runs on every core while coroutines go on.
//
// What may switch: the constructor (it waits until its workers are forked), apply, map,
// starmap, PoolResult::get/wait, iterating an imap range, join and terminate park the
// calling coroutine (in main they run the hub meanwhile). apply_async, map_async and
// close never park; the *_async calls yield to the hub while they encode a large input
// (hundreds of chunks, or hundreds of KiB), so timers and other coroutines are not held
// up meanwhile. imap/imap_unordered read their input lazily, in the calling coroutine
// (one chunk at the call, the rest while iterating): they park only where the input
// does, and yield while reading it. Callbacks run in the parent, on the hub's thread, in
// a coroutine of the pool.
//
// A pool belongs to the thread (hub) and process that created it.
#pragma once

#include <braid/process/detail/pool_core.hpp>
#include <braid/process/detail/pool_imap.hpp>
#include <braid/process/detail/pool_result.hpp>
#include <braid/process/detail/pool_task.hpp>
#include <braid/runtime/hub.hpp>

#include <sys/types.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid::process {

/// A task threw in a worker. what() reads "<type>: <what()>", e.g.
/// "std::invalid_argument: negative input"; type_name() and remote_what() give the parts.
struct RemoteError : std::runtime_error {
  using std::runtime_error::runtime_error;
  RemoteError(const std::string& type, const std::string& what);
  /// The demangled type of the exception the task threw (empty when unknown).
  const std::string& type_name() const noexcept;
  /// What the exception's what() said in the worker.
  const std::string& remote_what() const noexcept;

 private:
  struct Info {
    std::string type, what;
  };
  std::shared_ptr<const Info> info_;  // shared: copying an exception must not throw
};

/// How far a task whose result will never come got (WorkerLostError::state()).
enum class LostTaskState : unsigned char {
  unknown,      ///< not known: it may have run, in part or fully
  not_started,  ///< it never ran (it was still queued): retrying it repeats nothing
  running,      ///< it was running when its worker died: it may have run, in part or fully
  completed,    ///< it ran to the end, but its result died with the worker before it was sent
};

/// The worker running a task died (crash, signal, _exit) before replying, or the pool was
/// terminated first. The message names the worker's pid, how it ended, how many tasks it
/// took with it and how far this one got ("... before replying (2 task(s) lost: ...);
/// this task was running when the worker died: it may have run, in part or fully").
/// Tasks a dead worker had received but not started are not lost: they go back to the
/// queue.
struct WorkerLostError : std::runtime_error {
  using std::runtime_error::runtime_error;
  WorkerLostError(const std::string& what, LostTaskState s) : std::runtime_error(what), state_(s) {}
  /// How far the task got.
  LostTaskState state() const noexcept { return state_; }
  /// False only when the task is known never to have run, so retrying it is safe even
  /// when it has side effects.
  bool may_have_run() const noexcept { return state_ != LostTaskState::not_started; }

 private:
  LostTaskState state_ = LostTaskState::unknown;
};

/// Options for a Pool.
struct PoolOptions {
  /// Runs once in each worker before its first task. If it throws, every task sent to
  /// that worker fails with a RemoteError that says so (the pool never respawns in a loop).
  void (*initializer)() = nullptr;
  /// Tasks (apply calls or map chunks) a worker runs before it is replaced; absent = no
  /// limit. 0 is rejected (std::invalid_argument), as Python rejects it.
  std::optional<std::size_t> maxtasksperchild;
};

/// A result that arrives later (Python's AsyncResult). A copyable handle to shared state.
template <class R>
class PoolResult {
 public:
  PoolResult() = default;
  explicit PoolResult(std::shared_ptr<detail::ResultState<R>> st) : st_(std::move(st)) {}

  /// Parks until the result is ready, then returns it or throws the task's error
  /// (RemoteError, WorkerLostError). TimeoutError when `timeout` elapses first.
  R get(std::optional<Duration> timeout = {}) { return state().get(timeout); }
  /// Parks until ready (true) or until `timeout` elapsed (false). Never throws the error.
  bool wait(std::optional<Duration> timeout = {}) { return state().wait(timeout); }
  /// The result has arrived (a value or an error) and its callback has run.
  bool ready() const { return state().ready(); }
  /// Ready with a value (false while not ready).
  bool successful() const { return state().successful(); }

 private:
  detail::ResultState<R>& state() const {
    if (!st_) throw std::logic_error("PoolResult: empty handle");
    return *st_;
  }
  std::shared_ptr<detail::ResultState<R>> st_;
};

/// A lazy input range over imap/imap_unordered results: iterating parks until the next
/// result arrives, rethrows the error of a chunk that failed where it stands, and throws
/// the input's own error after every result of the input read before it. Reading the
/// input more (a chunk for each chunk of results taken) happens while iterating, in the
/// iterating coroutine. Destroying the range stops reading the input and drops the
/// chunks no worker has received yet; those a worker holds run, their results dropped.
template <class R>
class ImapRange {
 public:
  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using reference = typename std::vector<R>::reference;

    iterator() = default;
    explicit iterator(std::shared_ptr<detail::ImapStream<R>> st)
        : st_(std::move(st)), chunk_(std::make_shared<std::vector<R>>()) {
      fetch();
    }
    reference operator*() const { return (*chunk_)[pos_]; }
    iterator& operator++() {
      if (++pos_ >= chunk_->size()) fetch();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.st_ == nullptr;
    }

   private:
    void fetch() {
      pos_ = 0;
      chunk_->clear();
      for (;;) {
        Hub::current().cooperate();  // results already in do not park: a loop over them
        auto c = st_->next();
        if (!c) {
          st_.reset();
          return;
        }
        if (!c->empty()) {
          *chunk_ = std::move(*c);
          return;
        }
      }
    }
    std::shared_ptr<detail::ImapStream<R>> st_;  // null at the end
    std::shared_ptr<std::vector<R>> chunk_;      // the chunk being read
    std::size_t pos_ = 0;                        // position in chunk_
  };

  explicit ImapRange(std::shared_ptr<detail::ImapStream<R>> st) : st_(std::move(st)) {}
  /// Parks until the first result is there. An input range: iterate it once.
  iterator begin() { return iterator(std::move(st_)); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::shared_ptr<detail::ImapStream<R>> st_;
};

namespace detail {
template <class F, class... A>
using apply_result_t = task_result_t<F, wire_t<A>...>;
template <class F, class Range>
using map_result_t = task_result_t<F, wire_t<std::ranges::range_value_t<Range>>>;
template <class F, class Range>
using starmap_result_t = std::decay_t<decltype(std::apply(
    std::declval<F&>(), std::declval<wire_t<std::ranges::range_value_t<Range>>&&>()))>;
template <class R>
using callback_t = typename CallbackFor<R>::type;
template <class R>
using vector_or_void_t = std::conditional_t<std::is_void_v<R>, void, std::vector<R>>;
}  // namespace detail

/// A pool of worker processes (Python's multiprocessing.Pool).
///
/// Workers are forked at construction, each with its own socketpair; a dispatcher in the
/// hub hands them tasks (several in flight each, so a worker never idles for a round
/// trip) and matches replies by id. A task is a function or a capture-less lambda: it is
/// named by the address of a trampoline, valid in the workers because they are forked
/// copies of this program; its arguments and result travel serialised with cereal.
///
/// A worker that dies mid-task fails exactly the tasks it had started with WorkerLostError
/// (within a second), saying which one was running and which had completed (their results
/// died with it); those it had not started go back to the queue. The worker is replaced.
/// An exception in a task comes back as RemoteError.
///
/// @par Example
/// @code
///   braid::process::Pool pool(4);
///   std::vector<int> squares = pool.map([](int x) { return x * x; }, inputs);
///   auto r = pool.apply_async(slow_sum, std::make_tuple(1, 2),
///                             [](long s) { std::printf("%ld\n", s); });   // in the parent
///   pool.close();
///   pool.join();
/// @endcode
class Pool {
 public:
  /// Forks `processes` workers (default: the number of CPUs), parking until they exist.
  /// std::invalid_argument for 0 processes or a maxtasksperchild of 0; std::system_error
  /// when fork fails.
  explicit Pool(std::optional<unsigned> processes = {}, PoolOptions o = {});
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  /// terminate(), like leaving `with Pool() as p:`. Parks briefly to reap the workers.
  ~Pool();

  /// Runs f(args...) in a worker and returns its result, parking the caller meanwhile.
  /// @throws RemoteError      the task threw.
  /// @throws WorkerLostError  the worker died first.
  /// @throws std::logic_error the pool is closed.
  template <class F, class... A>
  auto apply(F f, A&&... args) -> detail::apply_result_t<F, A...>;

  /// Starts f(args...) in a worker; returns at once. `callback` (value) or
  /// `error_callback` (the exception) runs in the parent, on the hub's thread, before the
  /// result becomes ready. std::logic_error when the pool is closed.
  template <class F, class... A, class R = detail::apply_result_t<F, A...>>
  PoolResult<R> apply_async(F f, std::tuple<A...> args, detail::callback_t<R> callback = {},
                            std::function<void(std::exception_ptr)> error_callback = {});

  /// f applied to every element, in input order, parking until all are done. The input
  /// is cut into chunks of `chunksize` (0: about four chunks per worker, as Python picks,
  /// but at most 8192 items each).
  /// The first failing chunk's error is thrown.
  template <class F, class Range, class R = detail::map_result_t<F, Range>>
  detail::vector_or_void_t<R> map(F f, const Range& in, std::size_t chunksize = 0);

  /// map() without waiting.
  template <class F, class Range, class R = detail::map_result_t<F, Range>>
  PoolResult<detail::vector_or_void_t<R>> map_async(
      F f, const Range& in, std::size_t chunksize = 0,
      detail::callback_t<detail::vector_or_void_t<R>> callback = {},
      std::function<void(std::exception_ptr)> error_callback = {});

  /// A lazy range of f(element) in input order; each result is available as soon as its
  /// chunk is back. The input is read lazily (it may be endless: an iota view, a
  /// generator), `chunksize` items to a chunk, with at most `buffersize` chunks submitted
  /// and not yet iterated (default: 8 per worker; Python 3.14's buffersize): one chunk at
  /// this call, then while iterating, a chunk for each chunk of results taken and more
  /// while no result is ready.
  /// An lvalue input is referenced and must outlive the iteration; an rvalue is moved
  /// into the range. An exception from the input is thrown by the iteration after the
  /// results of every item read before it. The call itself never parks unless the input
  /// does. std::invalid_argument for a buffersize of 0; std::logic_error when the pool is
  /// closed. Once the pool is joined or terminated, the range ends after the results of
  /// the chunks already submitted with a std::logic_error that says so.
  template <class F, class Range, class R = detail::map_result_t<F, Range>>
  ImapRange<R> imap(F f, Range&& in, std::size_t chunksize = 1,
                    std::optional<std::size_t> buffersize = {});
  /// As imap, in completion order (the input's error still comes after every result of
  /// the items read before it).
  template <class F, class Range, class R = detail::map_result_t<F, Range>>
  ImapRange<R> imap_unordered(F f, Range&& in, std::size_t chunksize = 1,
                              std::optional<std::size_t> buffersize = {});

  /// std::apply(f, element) for every tuple (or pair) in `tuples`, in input order.
  template <class F, class Range, class R = detail::starmap_result_t<F, Range>>
  detail::vector_or_void_t<R> starmap(F f, const Range& tuples, std::size_t chunksize = 0);
  template <class F, class Range, class R = detail::starmap_result_t<F, Range>>
  PoolResult<detail::vector_or_void_t<R>> starmap_async(F f, const Range& tuples,
                                                        std::size_t chunksize = 0);

  /// No more tasks; the workers leave once the queued ones are done. Never parks.
  void close() noexcept;
  /// Parks until every task is done (callbacks included) and the workers have exited.
  /// std::logic_error unless close() or terminate() was called first.
  void join();
  /// Kills the workers now (SIGKILL) and reaps them. Results not yet in fail with
  /// WorkerLostError and their callbacks do not run. Idempotent.
  void terminate() noexcept;

  /// Number of worker processes.
  unsigned processes() const noexcept { return core_->processes(); }
  /// Pids of the workers alive now.
  std::vector<pid_t> pids() const { return core_->pids(); }

 private:
  template <bool star, class F, class Range, class Make>
  auto submit_chunks(const char* op, F f, const Range& in, std::size_t chunksize, Make make_sink);
  template <class F, class Range, class R>
  ImapRange<R> stream(const char* op, bool ordered, F f, Range&& in, std::size_t chunksize,
                      std::optional<std::size_t> buffersize);

  std::shared_ptr<detail::PoolCore> core_;  // shared only with imap streams (weakly)
};

// ---- implementation

namespace detail {

/// The largest chunk chunksize=0 picks. Python's rule alone makes a million items eight
/// chunks of half a megabyte each on two workers: every buffer on the way is then fresh
/// memory to fault in, and a worker's first chunk waits for a whole one to be sent.
/// Chunks of this size stay in warm, reused buffers and several are in flight per worker,
/// while the per-chunk cost (a frame, a few syscalls shared by several chunks) is still
/// spread over thousands of items. Smaller chunks never balance worse.
inline constexpr std::size_t kMaxDefaultChunk = 8192;

/// chunksize=0: Python's choice, divmod(len, 4 * workers) plus one if a remainder, at
/// most kMaxDefaultChunk.
inline std::size_t default_chunksize(std::size_t n, unsigned workers) {
  const std::size_t d = std::size_t{4} * workers;
  std::size_t c = n / d;
  if (n % d != 0) ++c;
  return std::min(c, kMaxDefaultChunk);
}

/// Chunk boundaries for `n` items: 0, c, 2c, ..., n.
std::vector<std::size_t> chunk_starts(std::size_t n, std::size_t chunksize);

/// Measures the encoding a map does in the caller before it submits: one Hub::cooperate()
/// per kUnit of work (a chunk costs kChunkCost, an item kItemCost, plus its frame's
/// bytes), so encoding a big input yields to the hub now and then while a small call
/// never switches. After a cooperate() the pool may have been closed or terminated by
/// another coroutine: `recheck` (PoolCore::check_open) throws then, before anything of
/// this call was submitted.
class EncodeBudget {
 public:
  static constexpr std::size_t kUnit = 8 * 1024;
  static constexpr std::size_t kChunkCost = 256;
  static constexpr std::size_t kItemCost = 16;

  EncodeBudget(const PoolCore& core, const char* op) noexcept : core_(core), op_(op) {}
  void spend(std::size_t cost) {
    spent_ += cost;
    if (spent_ < kUnit) return;
    spent_ = 0;
    Hub::current().cooperate();
    core_.check_open(op_);
  }

 private:
  const PoolCore& core_;
  const char* op_;
  std::size_t spent_ = 0;
};

template <class Range>
decltype(auto) as_sized(const Range& in) {
  if constexpr (std::ranges::sized_range<const Range> || std::ranges::forward_range<const Range>) {
    return (in);
  } else {
    return std::vector<std::ranges::range_value_t<Range>>(std::ranges::begin(in),
                                                          std::ranges::end(in));
  }
}

}  // namespace detail

template <class F, class... A>
auto Pool::apply(F f, A&&... args) -> detail::apply_result_t<F, A...> {
  using R = detail::apply_result_t<F, A...>;
  detail::check_task_callable<F>();
  core_->check_open("Pool::apply");
  auto sink = std::make_shared<detail::ApplySink<R>>();
  const std::uint64_t id = core_->next_id();
  detail::RequestWriter w(id, &detail::apply_trampoline<F, detail::wire_t<A>...>,
                          detail::function_word(f));
  if constexpr (sizeof...(A) > 0) w.archive()(detail::to_wire(args)...);
  core_->submit(detail::Job{id, sink, 0, w.finish()});
  return sink->take(std::nullopt);
}

template <class F, class... A, class R>
PoolResult<R> Pool::apply_async(F f, std::tuple<A...> args, detail::callback_t<R> callback,
                                std::function<void(std::exception_ptr)> error_callback) {
  detail::check_task_callable<F>();
  core_->check_open("Pool::apply_async");
  auto sink = std::make_shared<detail::ApplySink<R>>();
  sink->set_callbacks(std::move(callback), std::move(error_callback));
  const std::uint64_t id = core_->next_id();
  detail::RequestWriter w(id, &detail::apply_trampoline<F, detail::wire_t<A>...>,
                          detail::function_word(f));
  if constexpr (sizeof...(A) > 0) {
    std::apply([&w](auto&... a) { w.archive()(detail::to_wire(a)...); }, args);
  }
  core_->submit(detail::Job{id, sink, 0, w.finish()});
  return PoolResult<R>(std::move(sink));
}

template <bool star, class F, class Range, class Make>
auto Pool::submit_chunks(const char* op, F f, const Range& in_range, std::size_t chunksize,
                         Make make_sink) {
  detail::check_task_callable<F>();
  core_->check_open(op);
  decltype(auto) in = detail::as_sized(in_range);
  using E = detail::wire_t<std::ranges::range_value_t<Range>>;
  const auto n = static_cast<std::size_t>(std::ranges::distance(in));
  if (chunksize == 0) chunksize = detail::default_chunksize(n, core_->processes());
  std::vector<std::size_t> starts = detail::chunk_starts(n, chunksize);
  const std::size_t chunks = starts.size() - 1;
  auto sink = make_sink(starts);
  std::vector<detail::Job> jobs;
  jobs.reserve(chunks);
  auto it = std::ranges::begin(in);
  const detail::Trampoline tramp = &detail::map_trampoline<F, E, star>;
  detail::EncodeBudget budget(*core_, op);
  for (std::size_t k = 0; k < chunks; ++k) {
    const std::size_t len = starts[k + 1] - starts[k];
    const std::uint64_t id = core_->next_id();
    // Plain numbers have a known size: the frame takes a recycled buffer or is allocated
    // once, not grown.
    std::vector<std::byte> buffer;
    if constexpr (detail::bulk_v<E>) {
      buffer = core_->take_buffer(detail::kChunkFrameOverhead + len * sizeof(E));
    }
    detail::RequestWriter w(id, tramp, detail::function_word(f), std::move(buffer));
    auto& ar = w.archive();
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(len)));
    using V = std::ranges::range_value_t<Range>;
    if constexpr (std::ranges::contiguous_range<const Range> && std::is_same_v<V, E> &&
                  detail::bulk_v<E>) {
      detail::save_items(ar, std::ranges::data(in) + starts[k], len);
      std::ranges::advance(it, static_cast<std::ptrdiff_t>(len));
    } else {
      for (std::size_t i = 0; i < len; ++i, ++it) {
        const E& e = detail::to_wire(*it);
        ar(e);
        budget.spend(detail::EncodeBudget::kItemCost);
      }
    }
    jobs.push_back(detail::Job{id, sink, static_cast<std::uint32_t>(k), w.finish()});
    budget.spend(detail::EncodeBudget::kChunkCost + jobs.back().request.size());
  }
  if (chunks > 0) core_->submit(std::move(jobs));
  return sink;
}

template <class F, class Range, class R>
detail::vector_or_void_t<R> Pool::map(F f, const Range& in, std::size_t chunksize) {
  auto sink =
      submit_chunks<false>("Pool::map", f, in, chunksize, [this](std::vector<std::size_t> starts) {
        auto s = std::make_shared<detail::MapSink<R>>(std::move(starts));
        if (s->settled_empty()) core_->settle(s);
        return s;
      });
  return sink->take(std::nullopt);
}

template <class F, class Range, class R>
PoolResult<detail::vector_or_void_t<R>> Pool::map_async(
    F f, const Range& in, std::size_t chunksize,
    detail::callback_t<detail::vector_or_void_t<R>> callback,
    std::function<void(std::exception_ptr)> error_callback) {
  auto sink = submit_chunks<false>(
      "Pool::map_async", f, in, chunksize, [&, this](std::vector<std::size_t> starts) {
        auto s = std::make_shared<detail::MapSink<R>>(std::move(starts));
        s->set_callbacks(std::move(callback), std::move(error_callback));
        if (s->settled_empty()) core_->settle(s);
        return s;
      });
  return PoolResult<detail::vector_or_void_t<R>>(std::move(sink));
}

template <class F, class Range, class R>
ImapRange<R> Pool::stream(const char* op, bool ordered, F f, Range&& in, std::size_t chunksize,
                          std::optional<std::size_t> buffersize) {
  static_assert(!std::is_void_v<R>, "Pool::imap needs a task that returns a value; use map()");
  detail::check_task_callable<F>();
  core_->check_open(op);
  if (buffersize && *buffersize == 0) {
    throw std::invalid_argument(std::string(op) + ": buffersize must be a positive int or None");
  }
  const std::size_t window = buffersize.value_or(detail::kImapReadAheadPerWorker *
                                                 static_cast<std::size_t>(core_->processes()));
  using V = std::views::all_t<Range>;
  using E = detail::wire_t<std::ranges::range_value_t<Range>>;
  auto input = std::make_unique<detail::ImapInputOf<F, E, V>>(
      f, std::views::all(std::forward<Range>(in)), chunksize == 0 ? 1 : chunksize);
  auto st = std::make_shared<detail::ImapStream<R>>(core_, std::move(input), window, ordered, op);
  st->submit_one();  // the first chunk starts now, as Python's task handler would start it
  return ImapRange<R>(std::move(st));
}

template <class F, class Range, class R>
ImapRange<R> Pool::imap(F f, Range&& in, std::size_t chunksize,
                        std::optional<std::size_t> buffersize) {
  return stream<F, Range, R>("Pool::imap", true, f, std::forward<Range>(in), chunksize, buffersize);
}

template <class F, class Range, class R>
ImapRange<R> Pool::imap_unordered(F f, Range&& in, std::size_t chunksize,
                                  std::optional<std::size_t> buffersize) {
  return stream<F, Range, R>("Pool::imap_unordered", false, f, std::forward<Range>(in), chunksize,
                             buffersize);
}

template <class F, class Range, class R>
detail::vector_or_void_t<R> Pool::starmap(F f, const Range& tuples, std::size_t chunksize) {
  auto sink = submit_chunks<true>(
      "Pool::starmap", f, tuples, chunksize, [this](std::vector<std::size_t> starts) {
        auto s = std::make_shared<detail::MapSink<R>>(std::move(starts));
        if (s->settled_empty()) core_->settle(s);
        return s;
      });
  return sink->take(std::nullopt);
}

template <class F, class Range, class R>
PoolResult<detail::vector_or_void_t<R>> Pool::starmap_async(F f, const Range& tuples,
                                                            std::size_t chunksize) {
  auto sink = submit_chunks<true>(
      "Pool::starmap_async", f, tuples, chunksize, [this](std::vector<std::size_t> starts) {
        auto s = std::make_shared<detail::MapSink<R>>(std::move(starts));
        if (s->settled_empty()) core_->settle(s);
        return s;
      });
  return PoolResult<detail::vector_or_void_t<R>>(std::move(sink));
}

}  // namespace braid::process
