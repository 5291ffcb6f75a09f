// braid::process::Value and Array: plain data in shared memory, each with a process-
// shared Lock (Python's multiprocessing.Value / Array; lock=false leaves it out), and
// RawValue / RawArray, the same data without any lock (multiprocessing.RawValue /
// RawArray).
//
// Create them before starting the processes that use them; the objects are copyable
// handles to the same memory. T must be trivially copyable (no pointers into one
// process's heap). value() and operator[] give direct access without locking (like
// Python's get_obj()); hold get_lock() for read-modify-write sequences, or use load()/
// store(), which take the lock.
//
// What may switch: get_lock().acquire() (and load/store, which take it) park only the
// calling coroutine; plain reads and writes never park.
#pragma once

#include <braid/process/detail/shared_state.hpp>
#include <braid/process/synchronize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace braid::process {

namespace detail {
[[noreturn]] void throw_no_lock(const char* type);
}  // namespace detail

/// One T in shared memory, without a lock (Python's RawValue). A copyable handle.
template <class T>
class RawValue {
  static_assert(std::is_trivially_copyable_v<T>, "RawValue<T> needs a trivially copyable T");

 public:
  explicit RawValue(T v = {}) : block_(std::make_shared<detail::SharedBlock<T>>(0, v)) {}
  /// The shared object itself.
  T& value() noexcept { return *block_->get(); }
  const T& value() const noexcept { return *block_->get(); }

 private:
  std::shared_ptr<detail::SharedBlock<T>> block_;
};

/// One T in shared memory with a Lock (Python's Value).
///
/// @par Example
/// @code
///   braid::process::Value<int> counter(0);
///   // in each child:
///   { std::lock_guard g(counter.get_lock()); counter.value() += 1; }
/// @endcode
template <class T>
class Value {
 public:
  explicit Value(T v = {}) : raw_(v), lock_(Lock()) {}
  /// `lock` false: no lock (Python's lock=False); get_lock() is then std::logic_error and
  /// load()/store() take none.
  Value(T v, bool lock) : raw_(v) {
    if (lock) lock_.emplace();
  }
  /// Guarded by `lock`, a handle to an existing Lock (Python's lock=<a Lock>).
  Value(T v, Lock lock) : raw_(v), lock_(std::move(lock)) {}

  /// The shared object itself; not locked.
  T& value() noexcept { return raw_.value(); }
  const T& value() const noexcept { return raw_.value(); }
  /// Reads / writes it under the lock (without one when made with lock=false).
  T load() {
    if (!lock_) return raw_.value();
    std::lock_guard g(*lock_);
    return raw_.value();
  }
  void store(const T& v) {
    if (!lock_) {
      raw_.value() = v;
      return;
    }
    std::lock_guard g(*lock_);
    raw_.value() = v;
  }
  /// std::logic_error for a Value made with lock=false (Python: AttributeError).
  Lock& get_lock() {
    if (!lock_) detail::throw_no_lock("Value");
    return *lock_;
  }
  bool has_lock() const noexcept { return lock_.has_value(); }
  /// The unlocked object (Python's get_obj()).
  RawValue<T>& get_obj() noexcept { return raw_; }

 private:
  RawValue<T> raw_;
  std::optional<Lock> lock_;
};

/// A fixed-size array of T in shared memory, without a lock (Python's RawArray).
template <class T>
class RawArray {
  static_assert(std::is_trivially_copyable_v<T>, "RawArray<T> needs a trivially copyable T");

 public:
  RawArray(std::size_t n, T v = {}) : RawArray(Uninit{}, n) {
    std::uninitialized_fill_n(data(), n_, v);
  }
  /// A copy of the elements of `r` (Python's RawArray(typecode, sequence)). Brace
  /// initialisation picks this form, as with std::vector: `RawArray<int> a{5}` is one
  /// element 5, `RawArray<int> a(5)` five zeros.
  RawArray(std::initializer_list<T> init) : RawArray(Uninit{}, init.size()) {
    std::uninitialized_copy(init.begin(), init.end(), data());
  }
  template <std::ranges::forward_range R>
  requires std::convertible_to<std::ranges::range_reference_t<R>, T> &&
      (!std::same_as<std::remove_cvref_t<R>, RawArray>)  // copies share the array
      explicit RawArray(R&& r)
      : RawArray(Uninit{}, static_cast<std::size_t>(std::ranges::distance(r))) {
    T* out = data();
    for (auto&& x : r) *out++ = static_cast<T>(x);
  }

  /// Unchecked element access.
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  /// Checked access: std::out_of_range past the end.
  T& at(std::size_t i) {
    if (i >= n_) {
      throw std::out_of_range("Array::at: index " + std::to_string(i) + " of " +
                              std::to_string(n_));
    }
    return data()[i];
  }
  std::size_t size() const noexcept { return n_; }
  T* data() const noexcept {
    auto addr = reinterpret_cast<std::uintptr_t>(block_->extra());
    addr = (addr + alignof(T) - 1) / alignof(T) * alignof(T);
    return reinterpret_cast<T*>(addr);
  }
  T* begin() const noexcept { return data(); }
  T* end() const noexcept { return data() + n_; }
  std::span<T> span() const noexcept { return {data(), n_}; }

 private:
  struct Uninit {};
  // Storage for `n` elements, not yet constructed.
  RawArray(Uninit, std::size_t n)
      : block_(std::make_shared<detail::SharedBlock<char>>(n * sizeof(T) + alignof(T))), n_(n) {}

  std::shared_ptr<detail::SharedBlock<char>> block_;
  std::size_t n_;
};

/// A fixed-size array of T in shared memory with a Lock (Python's Array). `lock` false
/// leaves the lock out (get_lock() is then std::logic_error); a Lock handle shares one.
template <class T>
class Array {
 public:
  Array(std::size_t n, T v = {}) : raw_(n, v), lock_(Lock()) {}
  Array(std::size_t n, T v, bool lock) : raw_(n, v) {
    if (lock) lock_.emplace();
  }
  Array(std::size_t n, T v, Lock lock) : raw_(n, v), lock_(std::move(lock)) {}
  /// A copy of a sequence (Python's Array(typecode, sequence)); see RawArray for the brace
  /// form.
  Array(std::initializer_list<T> init, bool lock = true) : raw_(init) {
    if (lock) lock_.emplace();
  }
  template <std::ranges::forward_range R>
  requires std::convertible_to<std::ranges::range_reference_t<R>, T> &&
      (!std::same_as<std::remove_cvref_t<R>, Array>)  // copies share the array
      explicit Array(R&& r, bool lock = true)
      : raw_(std::forward<R>(r)) {
    if (lock) lock_.emplace();
  }

  /// Unchecked element access; not locked.
  T& operator[](std::size_t i) noexcept { return raw_[i]; }
  const T& operator[](std::size_t i) const noexcept { return raw_[i]; }
  /// Checked access: std::out_of_range past the end.
  T& at(std::size_t i) { return raw_.at(i); }
  std::size_t size() const noexcept { return raw_.size(); }
  T* data() const noexcept { return raw_.data(); }
  T* begin() const noexcept { return raw_.begin(); }
  T* end() const noexcept { return raw_.end(); }
  std::span<T> span() const noexcept { return raw_.span(); }
  /// std::logic_error for an Array made with lock=false (Python: AttributeError).
  Lock& get_lock() {
    if (!lock_) detail::throw_no_lock("Array");
    return *lock_;
  }
  bool has_lock() const noexcept { return lock_.has_value(); }
  /// The unlocked array (Python's get_obj()).
  RawArray<T>& get_obj() noexcept { return raw_; }

 private:
  RawArray<T> raw_;
  std::optional<Lock> lock_;
};

}  // namespace braid::process
