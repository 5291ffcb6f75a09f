// Value / Array with lock=false or a given Lock, RawValue / RawArray, and arrays made from
// a sequence (multiprocessing.Value, Array, RawValue, RawArray).
#include <braid/process/shared_memory.hpp>

#include <braid/coro.hpp>
#include <braid/process/process.hpp>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"

#include <array>
#include <list>
#include <stdexcept>
#include <vector>

namespace mp = braid::process;
using braid::test::kGenerous;

TEST_CASE("Value with lock=false has no lock; load/store still work", "[process][unit]") {
  mp::Value<int> v(5, false);
  CHECK_FALSE(v.has_lock());
  REQUIRE_THROWS_WITH(v.get_lock(), Catch::Contains("lock=false"));
  REQUIRE_THROWS_AS(v.get_lock(), std::logic_error);
  v.store(7);
  CHECK(v.load() == 7);
  CHECK(v.get_obj().value() == 7);
  mp::Value<int> locked(1, true);
  CHECK(locked.has_lock());
  CHECK(locked.get_lock().try_lock());
  locked.get_lock().release();
}

TEST_CASE("Value and Array guarded by a given Lock share it", "[process][unit]") {
  mp::Lock shared;
  mp::Value<double> v(1.5, shared);
  mp::Array<int> a(3, 0, shared);
  REQUIRE(v.get_lock().try_lock());
  CHECK(a.get_lock().locked());  // the same lock
  CHECK_FALSE(shared.try_lock());
  a.get_lock().release();
  CHECK_FALSE(shared.locked());
}

TEST_CASE("Array with lock=false has no lock", "[process][unit]") {
  mp::Array<int> a(4, 9, false);
  CHECK_FALSE(a.has_lock());
  REQUIRE_THROWS_WITH(a.get_lock(), Catch::Contains("Array was made with lock=false"));
  CHECK(a.size() == 4);
  CHECK(a[3] == 9);
  mp::Array<int> b({1, 2}, false);
  CHECK_FALSE(b.has_lock());
  CHECK(b.get_obj()[1] == 2);
}

TEST_CASE("Array from an initializer list or any range", "[process][unit]") {
  mp::Array<int> a{1, 2, 3};
  CHECK(a.size() == 3);
  CHECK(a.has_lock());
  CHECK(std::vector<int>(a.begin(), a.end()) == std::vector<int>{1, 2, 3});
  const std::list<short> l{4, 5};
  mp::Array<long> b(l);  // converted element by element
  CHECK(std::vector<long>(b.begin(), b.end()) == std::vector<long>{4, 5});
  mp::Array<double> empty(std::vector<double>{});
  CHECK(empty.size() == 0);
  REQUIRE_THROWS_AS(empty.at(0), std::out_of_range);
  // Copies are handles to the same array, not new arrays made from it as a range.
  mp::Array<int> c(a);
  c[0] = 42;
  CHECK(a[0] == 42);
}

TEST_CASE("RawValue and RawArray share memory with a child, without locks",
          "[process][unit][fork]") {
  mp::RawValue<int> v(1);
  mp::RawArray<int> a{10, 20, 30};
  mp::RawArray<char> zeros(3);
  CHECK(zeros[2] == 0);
  mp::RawArray<int> copy = a;
  REQUIRE_THROWS_AS(a.at(3), std::out_of_range);
  mp::Process p(
      [](mp::RawValue<int> v, mp::RawArray<int> a) {
        v.value() += 1;
        for (int& x : a) x += 1;
      },
      v, a);
  p.start();
  REQUIRE(p.join(kGenerous));
  REQUIRE(p.exitcode() == 0);
  CHECK(v.value() == 2);
  CHECK(std::vector<int>(copy.begin(), copy.end()) == std::vector<int>{11, 21, 31});
  const std::array<int, 2> src{7, 8};
  mp::RawArray<int> from_range(src);
  CHECK(from_range.span()[1] == 8);
}
