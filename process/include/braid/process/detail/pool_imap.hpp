// Pool::imap / imap_unordered as a stream: the input is read lazily, a bounded window of
// chunks at a time, and results are handed out as they arrive.
//
//   ImapState   the Sink the chunks' replies land in (shared with the jobs in flight).
//   ImapInput   the input range, type-erased: reads the next chunk's items, encodes them.
//   ImapStream  what an ImapRange holds: reads and submits chunks as the consumer takes
//               results, then parks in the state for the next one; ends with the input's
//               error, if any.
//
// Everything runs on the pool's hub thread. The input is read only in the consumer's
// coroutine (one chunk at the imap call, then as it asks for results), never behind its
// back, so an input that parks or throws does so where the consumer can see it.
#pragma once

#include <braid/process/detail/pool_core.hpp>
#include <braid/process/detail/pool_result.hpp>
#include <braid/process/detail/pool_task.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/hub.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace braid::process::detail {

/// Default read-ahead of imap: chunks submitted and not yet handed to the consumer, per
/// worker. Twice the deepest a worker is ever fed (four quick tasks), so every worker has
/// its next chunk queued while the consumer catches up.
inline constexpr std::size_t kImapReadAheadPerWorker = 8;

/// The results of one imap stream, by chunk. Chunks are numbered in input order; a job's
/// `part` is that number modulo 2^32 (at most a window of chunks is ever outstanding).
template <class R>
class ImapState final : public Sink {
 public:
  using Chunk = std::vector<R>;
  using Outcome = std::variant<std::monostate, Chunk, std::exception_ptr>;

  explicit ImapState(bool ordered) : ordered_(ordered) {}

  /// Registers the next chunk (of `len` items) as submitted; returns its part number.
  std::uint32_t expect(std::size_t len) {
    pending_.push_back(Pending{len, false, Outcome{}});
    return static_cast<std::uint32_t>(base_ + pending_.size() - 1);
  }
  /// Chunks submitted and not yet handed to the consumer.
  std::size_t outstanding() const noexcept { return pending_.size() + done_.size(); }
  /// next() would not park.
  bool ready() const noexcept {
    return ordered_ ? !pending_.empty() && pending_.front().arrived : !done_.empty();
  }

  bool deliver(std::uint32_t part, InArchive& in) override {
    Pending& p = find(part);
    const std::size_t n = load_count(in, p.len);
    Chunk c(n);
    if constexpr (std::is_same_v<R, bool>) {
      for (std::size_t i = 0; i < n; ++i) {
        bool b = false;
        in(b);
        c[i] = b;
      }
    } else {
      load_items(in, c.data(), n);
    }
    store(p, Outcome(std::move(c)));
    return false;
  }
  bool fail(std::uint32_t part, std::exception_ptr e) override {
    store(find(part), Outcome(std::move(e)));
    return false;
  }

  /// The next chunk (in input order, or in completion order), parking until it arrives.
  /// Rethrows the error of a chunk that failed. Call only while outstanding() > 0.
  Chunk next() {
    Outcome o;
    if (ordered_) {
      while (!pending_.front().arrived) waiters_.wait(std::nullopt, WaitInfo{"Pool.imap next"});
      o = std::move(pending_.front().outcome);
      pending_.pop_front();
      ++base_;
    } else {
      while (done_.empty()) waiters_.wait(std::nullopt, WaitInfo{"Pool.imap_unordered next"});
      o = std::move(done_.front());
      done_.pop_front();
    }
    if (auto* e = std::get_if<std::exception_ptr>(&o)) std::rethrow_exception(*e);
    return std::move(std::get<Chunk>(o));
  }

 private:
  struct Pending {
    std::size_t len;  // items sent: the reply must carry as many
    bool arrived;     // imap: its outcome is in; imap_unordered: moved to done_
    Outcome outcome;  // imap only
  };

  Pending& find(std::uint32_t part) {
    const auto i = static_cast<std::uint32_t>(part - static_cast<std::uint32_t>(base_));
    if (i >= pending_.size() || pending_[i].arrived) {
      throw std::logic_error("Pool.imap: a reply for chunk " + std::to_string(part) +
                             ", which is not outstanding");
    }
    return pending_[i];
  }
  void store(Pending& p, Outcome o) {
    p.arrived = true;
    if (ordered_) {
      p.outcome = std::move(o);
    } else {
      done_.push_back(std::move(o));
      while (!pending_.empty() && pending_.front().arrived) {
        pending_.pop_front();
        ++base_;
      }
    }
    waiters_.notify_all();
  }

  bool ordered_;                 // imap (true) or imap_unordered
  std::deque<Pending> pending_;  // chunks base_, base_ + 1, ... not yet handed out
  std::uint64_t base_ = 0;       // number of pending_.front()
  std::deque<Outcome> done_;     // imap_unordered: arrived, in arrival order
  WaitQueue waiters_;            // the consumer, parked in next()
};

/// An imap's input, read one chunk at a time.
class ImapInput {
 public:
  virtual ~ImapInput() = default;
  /// Reads up to a chunk of items; returns how many are buffered (0: the input is
  /// exhausted). Throws what the input throws, but only when nothing is buffered: an
  /// error after some items of a chunk is kept and thrown by the next call, so the items
  /// before it are still sent. May yield to the hub; if that throws (a kill, a timeout),
  /// what was read stays buffered for the next call.
  virtual std::size_t read() = 0;
  /// Encodes the buffered items as request `id` and empties the buffer.
  virtual std::vector<std::byte> encode(std::uint64_t id) = 0;
};

/// ImapInput over a range view `V` (std::views::all of what the caller passed: a
/// reference to an lvalue, or the rvalue moved in) for task `F` on elements of wire type E.
template <class F, class E, class V>
class ImapInputOf final : public ImapInput {
 public:
  ImapInputOf(F f, V view, std::size_t chunksize)
      : f_(f), view_(std::move(view)), chunksize_(chunksize) {}

  std::size_t read() override {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    if (!it_) it_.emplace(std::ranges::begin(view_));
    while (buf_.size() < chunksize_) {
      Hub::current().cooperate();  // a never-parking input must not hold the hub
      try {
        if (*it_ == std::ranges::end(view_)) break;
        buf_.push_back(E(to_wire(**it_)));
        ++*it_;
      } catch (const GreenletExit&) {
        throw;
      } catch (...) {
        if (buf_.empty()) throw;
        error_ = std::current_exception();  // thrown after the items read before it
        break;
      }
    }
    return buf_.size();
  }

  std::vector<std::byte> encode(std::uint64_t id) override {
    RequestWriter w(id, &map_trampoline<F, E, false>, function_word(f_));
    auto& ar = w.archive();
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(buf_.size())));
    save_items(ar, buf_.data(), buf_.size());
    buf_.clear();
    return w.finish();
  }

 private:
  F f_;
  V view_;
  std::size_t chunksize_;
  std::optional<std::ranges::iterator_t<V>> it_;  // set at the first read
  std::vector<E> buf_;                            // items of the next chunk
  std::exception_ptr error_;                      // the input threw after buf_'s items
};

/// What an ImapRange holds: the input, the results, and the window between them.
template <class R>
class ImapStream {
 public:
  ImapStream(std::weak_ptr<PoolCore> core, std::unique_ptr<ImapInput> input, std::size_t window,
             bool ordered, const char* op)
      : core_(std::move(core)),
        input_(std::move(input)),
        state_(std::make_shared<ImapState<R>>(ordered)),
        window_(window),
        op_(op) {}
  ImapStream(const ImapStream&) = delete;
  ImapStream& operator=(const ImapStream&) = delete;
  /// The consumer is gone: chunks no worker has received yet are dropped, so a `break`
  /// out of a stream of slow tasks does not leave a window of them ahead of new work.
  ~ImapStream() {
    std::shared_ptr<PoolCore> core = core_.lock();
    if (core && core->feeding()) core->cancel_queued(state_.get());
  }

  /// Reads and submits the input's next chunk, if the window has room; false when it
  /// did not (window full, input over). The input's error, or the pool's being gone, is
  /// kept for after the results before it. Never parks unless the input does.
  bool submit_one() {
    if (!input_ || state_->outstanding() >= window_) return false;
    std::size_t n = 0;
    try {
      n = input_->read();
    } catch (const GreenletExit&) {
      throw;
    } catch (...) {
      end_input(std::current_exception());
      return false;
    }
    if (n == 0) {
      end_input(nullptr);
      return false;
    }
    // Only now look at the pool: reading may have parked while it was joined or destroyed.
    std::shared_ptr<PoolCore> core = core_.lock();
    if (!core || !core->feeding()) {
      end_input(std::make_exception_ptr(std::logic_error(
          std::string(op_) + ": the pool was " + (core ? "joined or terminated" : "destroyed") +
          " before the input was read to the end")));
      return false;
    }
    const std::uint64_t id = core->next_id();
    std::vector<std::byte> frame = input_->encode(id);
    const std::uint32_t part = state_->expect(n);
    core->submit(Job{id, state_, part, std::move(frame)});
    return true;
  }

  /// The next chunk of results, parking until it is there; nullopt at the end. Throws a
  /// failed chunk's error where it stands, and the input's error after every result of
  /// the input read before it.
  ///
  /// Reads one chunk of input for the one it hands out (the window stays full while the
  /// consumer keeps up), and more while no result is ready: a slow input is read while
  /// the consumer would wait anyway, and a result that is there is not held back for it.
  std::optional<std::vector<R>> next() {
    if (submit_one()) {
      while (!state_->ready() && submit_one()) {
      }
    }
    if (state_->outstanding() == 0) {
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      return std::nullopt;
    }
    return state_->next();
  }

 private:
  void end_input(std::exception_ptr e) {
    input_.reset();  // the caller's range is not touched again
    error_ = std::move(e);
  }

  std::weak_ptr<PoolCore> core_;
  std::unique_ptr<ImapInput> input_;  // null once exhausted or failed
  std::shared_ptr<ImapState<R>> state_;
  std::size_t window_;
  const char* op_;
  std::exception_ptr error_;  // the input's (thrown once every earlier result is out)
};

}  // namespace braid::process::detail
