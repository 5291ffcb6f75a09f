// braid::process::Value and Array: plain data in shared memory, each with a process-
// shared Lock (Python's multiprocessing.Value / Array with lock=True).
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

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace braid::process {

/// One T in shared memory.
///
/// @par Example
/// @code
///   braid::process::Value<int> counter(0);
///   // in each child:
///   { std::lock_guard g(counter.get_lock()); counter.value() += 1; }
/// @endcode
template <class T>
class Value {
  static_assert(std::is_trivially_copyable_v<T>, "Value<T> needs a trivially copyable T");

 public:
  explicit Value(T v = {}) : block_(std::make_shared<detail::SharedBlock<T>>(0, v)) {}
  /// The shared object itself; not locked.
  T& value() noexcept { return *block_->get(); }
  const T& value() const noexcept { return *block_->get(); }
  /// Reads / writes it under the lock.
  T load() {
    std::lock_guard g(lock_);
    return *block_->get();
  }
  void store(const T& v) {
    std::lock_guard g(lock_);
    *block_->get() = v;
  }
  Lock& get_lock() noexcept { return lock_; }

 private:
  std::shared_ptr<detail::SharedBlock<T>> block_;
  Lock lock_;
};

/// A fixed-size array of T in shared memory.
template <class T>
class Array {
  static_assert(std::is_trivially_copyable_v<T>, "Array<T> needs a trivially copyable T");

 public:
  Array(std::size_t n, T v = {})
      : block_(std::make_shared<detail::SharedBlock<char>>(n * sizeof(T) + alignof(T))), n_(n) {
    for (std::size_t i = 0; i < n_; ++i) new (data() + i) T(v);
  }
  /// Unchecked element access; not locked.
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  /// Checked access: std::out_of_range past the end.
  T& at(std::size_t i) {
    if (i >= n_) throw std::out_of_range("Array::at: index " + std::to_string(i));
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
  Lock& get_lock() noexcept { return lock_; }

 private:
  std::shared_ptr<detail::SharedBlock<char>> block_;
  std::size_t n_;
  Lock lock_;
};

}  // namespace braid::process
