// Greenlet: explicit, symmetric switching between coroutines (the greenlet module).
// Nothing is scheduled: control moves only when code calls switch_to(), and a greenlet
// whose function returns passes control to its parent (the context that created it).
#pragma once

#include <braid/runtime/detail/fiber_record.hpp>

#include <boost/context/fiber.hpp>

#include <exception>
#include <functional>
#include <memory>

namespace braid {

class Greenlet {
 public:
  /// A greenlet that will run `run` when first switched to. Its parent is the greenlet
  /// current at construction.
  explicit Greenlet(std::function<void()> run);
  Greenlet(const Greenlet&) = delete;
  Greenlet& operator=(const Greenlet&) = delete;
  /// A greenlet destroyed while suspended is unwound (its destructors run).
  ~Greenlet();

  /// Suspends the current greenlet and runs (or resumes) this one. Returns when some
  /// greenlet switches back. An exception escaping this greenlet's function is rethrown
  /// in its parent. std::logic_error when this greenlet is dead.
  void switch_to();
  /// Its function has returned (or thrown).
  bool dead() const noexcept { return dead_; }
  /// Started and not yet dead.
  bool active() const noexcept { return started_ && !dead_; }
  Greenlet* parent() const noexcept { return parent_; }

  /// The greenlet running now (for code outside any greenlet: an implicit one standing
  /// for the current coroutine or main).
  static Greenlet& current();

 private:
  Greenlet();  // the implicit greenlet of a context
  static boost::context::fiber entry(Greenlet* self, boost::context::fiber&& caller);
  void arrive(boost::context::fiber&& from_cont);

  std::function<void()> run_;
  Greenlet* parent_ = nullptr;
  boost::context::fiber cont_;      // where this greenlet resumes (empty while running)
  detail::FiberRecord stack_owner_; // holds the pooled stack's extent and size request
  bool started_ = false;
  bool dead_ = false;
  bool implicit_ = false;
  const void* asan_bottom_ = nullptr;  // stack extent, for AddressSanitizer's hooks
  std::size_t asan_size_ = 0;
  void* asan_fake_ = nullptr;
};

}  // namespace braid
