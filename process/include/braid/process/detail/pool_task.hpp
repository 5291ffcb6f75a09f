// How a Pool task travels: what may be a task, the wire types of its arguments, the
// per-callable trampolines a worker jumps to, and the request and reply encodings.
//
// Request payload (cereal binary, inside one frame of detail/frame.hpp):
//   u64 id, u64 trampoline address, u64 function pointer (0 for a lambda), then the
//   trampoline's own arguments (an apply's argument values, or a map chunk: a size tag
//   and the elements).
// Reply payload: u64 id, u8 status, u64 nanoseconds the task ran, then for kReplyOk the
// trampoline's result encoding,
//   for kReplyRaised / kReplyInitFailed two strings: the exception's type and what().
//
// The addresses are valid in the worker because workers are forked copies of this
// program: the same code at the same addresses (ASLR is decided at exec, not at fork).
#pragma once

#include <braid/process/detail/frame.hpp>

#include <cereal/archives/binary.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid::process::detail {

/// Payloads are decoded with the frame layer's checked archive (a bad size or bool is a
/// FrameError-style cereal::Exception, never a huge allocation).
using InArchive = CheckedInputArchive;
using OutArchive = cereal::BinaryOutputArchive;

/// What a worker calls for one task: decodes the arguments from `in`, runs the callable
/// (`fn` is the function pointer, or 0 for a capture-less lambda) and encodes the result.
using Trampoline = void (*)(std::uintptr_t fn, InArchive& in, OutArchive& out);

inline constexpr std::uint8_t kReplyOk = 0;
inline constexpr std::uint8_t kReplyRaised = 1;      // the task threw
inline constexpr std::uint8_t kReplyInitFailed = 2;  // the worker's initializer threw

// ---- What can be a task

template <class F>
inline constexpr bool is_function_pointer_v =
    std::is_pointer_v<F>&& std::is_function_v<std::remove_pointer_t<F>>;

/// A function pointer, or a class with no state that can be rebuilt in the worker (a
/// capture-less lambda, an empty function object).
template <class F>
inline constexpr bool is_task_callable_v = is_function_pointer_v<F> ||
                                           (std::is_class_v<F> && std::is_empty_v<F> &&
                                            std::is_default_constructible_v<F>);

template <class F>
constexpr void check_task_callable() {
  static_assert(is_task_callable_v<F>,
                "braid::process::Pool: a task must be a function or a capture-less lambda. "
                "Workers are forked copies of this program and find the task's code by its "
                "address, but a capturing lambda, std::function or function object with state "
                "carries data that exists only in this process. Pass that data as arguments "
                "instead (they are serialised with cereal).");
}

/// The callable, rebuilt in the worker.
template <class F>
F callable_from(std::uintptr_t fn) {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<F>(fn);
  } else {
    return F{};  // C++20: a capture-less lambda's closure type is default-constructible
  }
}

template <class F>
std::uintptr_t function_word(const F& f) {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<std::uintptr_t>(f);
  } else {
    return 0;
  }
}

// ---- Wire types: what an argument travels as

template <class T>
struct wire_type {
  using type = T;
};
template <>
struct wire_type<const char*> {
  using type = std::string;
};
template <>
struct wire_type<char*> {
  using type = std::string;
};
template <>
struct wire_type<std::string_view> {
  using type = std::string;
};
template <class... T>
struct wire_type<std::tuple<T...>> {
  using type = std::tuple<typename wire_type<std::decay_t<T>>::type...>;
};
template <class A, class B>
struct wire_type<std::pair<A, B>> {
  using type = std::tuple<typename wire_type<std::decay_t<A>>::type,
                          typename wire_type<std::decay_t<B>>::type>;
};

/// An argument of type T travels as wire_t<T>: its decayed type, except that C strings and
/// string_views travel as std::string (pointers cannot cross a process boundary), and
/// pairs and tuples as tuples of wire types.
template <class T>
using wire_t = typename wire_type<std::decay_t<T>>::type;

template <class T>
decltype(auto) to_wire(T&& v) {
  if constexpr (std::is_same_v<std::decay_t<T>, wire_t<T>>) {
    return std::forward<T>(v);
  } else if constexpr (requires { std::tuple_size<std::decay_t<T>>::value; }) {
    return std::apply([](auto&&... e) { return wire_t<T>(to_wire(e)...); }, v);
  } else {
    return wire_t<T>(v);
  }
}

template <class F, class... W>
using task_result_t = std::decay_t<std::invoke_result_t<F&, W&&...>>;

// ---- Sequences: a map chunk's elements (bulk bytes for plain numbers)

template <class T>
inline constexpr bool bulk_v = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

template <class T>
void save_items(OutArchive& ar, const T* p, std::size_t n) {
  if constexpr (bulk_v<T>) {
    ar(cereal::binary_data(p, n * sizeof(T)));
  } else {
    for (std::size_t i = 0; i < n; ++i) ar(p[i]);
  }
}

template <class T>
void load_items(InArchive& ar, T* p, std::size_t n) {
  if constexpr (bulk_v<T>) {
    ar(cereal::binary_data(p, n * sizeof(T)));
  } else {
    for (std::size_t i = 0; i < n; ++i) ar(p[i]);
  }
}

/// A worker's array for a map chunk's items or results (`Which` tells the two apart).
/// Plain numbers are overwritten before they are read, so they get no zeroing, and an
/// array of up to kScratchKept bytes is kept from chunk to chunk: a million trivial items
/// must not cost a fresh, zeroed, page-faulted array per chunk. Other types are
/// value-initialised in a fresh array, as before.
inline constexpr std::size_t kScratchKept = std::size_t{1} << 20;

template <class T, int Which>
class ChunkArray {
 public:
  explicit ChunkArray(std::size_t n) {
    if constexpr (bulk_v<T>) {
      static thread_local std::vector<T> kept;
      if (n * sizeof(T) <= kScratchKept) {
        if (kept.size() < n) kept.resize(n);
        p_ = kept.data();
        return;
      }
      own_.reset(new T[n]);  // NOLINT: default-initialised on purpose (no zeroing)
    } else {
      own_.reset(new T[n]());
    }
    p_ = own_.get();
  }
  T& operator[](std::size_t i) noexcept { return p_[i]; }
  T* get() noexcept { return p_; }

 private:
  std::unique_ptr<T[]> own_;
  T* p_ = nullptr;
};

/// Reads a size tag and checks it against what the caller expects.
std::size_t load_count(InArchive& ar, std::size_t expected);

// ---- Trampolines (run in the worker)

template <class F, class... W>
void apply_trampoline(std::uintptr_t fn, InArchive& in, OutArchive& out) {
  std::tuple<W...> args;
  if constexpr (sizeof...(W) > 0) std::apply([&in](auto&... a) { in(a...); }, args);
  F f = callable_from<F>(fn);
  using R = task_result_t<F, W...>;
  if constexpr (std::is_void_v<R>) {
    std::apply(f, std::move(args));
  } else {
    const R r = std::apply(f, std::move(args));
    out(r);
  }
}

/// One map chunk: `star` applies each element (a tuple) as the argument list.
template <class F, class E, bool star>
void map_trampoline(std::uintptr_t fn, InArchive& in, OutArchive& out) {
  cereal::size_type n = 0;
  in(cereal::make_size_tag(n));
  if (n > (std::size_t{1} << 40) / (sizeof(E) + 1)) throw_decode_error("map chunk", "absurd size");
  ChunkArray<E, 0> items(n);
  load_items(in, items.get(), n);
  F f = callable_from<F>(fn);
  auto call = [&f](E& e) -> decltype(auto) {
    if constexpr (star) {
      return std::apply(f, std::move(e));
    } else {
      return f(std::move(e));
    }
  };
  using R = std::decay_t<decltype(call(items[0]))>;
  if constexpr (std::is_void_v<R>) {
    for (std::size_t i = 0; i < n; ++i) call(items[i]);
  } else {
    ChunkArray<R, 1> results(n);
    for (std::size_t i = 0; i < n; ++i) results[i] = call(items[i]);
    out(cereal::make_size_tag(static_cast<cereal::size_type>(n)));
    save_items(out, results.get(), n);
  }
}

// ---- Requests (built in the parent)

/// A map chunk's request frame besides its elements: header, id, trampoline, function
/// word and the chunk's size tag.
inline constexpr std::size_t kChunkFrameOverhead =
    kFrameHeaderSize + 3 * sizeof(std::uint64_t) + sizeof(cereal::size_type);

/// Starts a request frame: header space, then id, trampoline and function word. The
/// caller appends the arguments with `ar` and then calls finish_request.
class RequestWriter {
 public:
  /// `buffer`: storage to build the frame in (its contents are dropped), e.g. with the
  /// capacity the frame will need, so it is allocated once rather than grown.
  RequestWriter(std::uint64_t id, Trampoline t, std::uintptr_t fn,
                std::vector<std::byte> buffer = {});
  OutArchive& archive() noexcept { return ar_; }
  std::vector<std::byte> finish();

 private:
  std::vector<std::byte> frame_;
  ByteSink sink_;
  std::ostream os_;
  OutArchive ar_;
};

}  // namespace braid::process::detail
