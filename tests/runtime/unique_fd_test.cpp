// braid::detail::UniqueFd: ownership moves, reset and release, and the descriptor is
// closed exactly once.
#include <braid/runtime/detail/unique_fd.hpp>

#include <catch2/catch.hpp>

#include "pipe_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>
#include <utility>

using braid::detail::UniqueFd;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
bool is_closed(int fd) { return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF; }

using Pipe = braid::test::OwnedPipe;

}  // namespace

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);
static_assert(!std::is_convertible_v<UniqueFd, bool>);  // explicit operator bool

TEST_CASE("UniqueFd: empty by default, closes what it owns on scope exit", "[unique_fd]") {
  const UniqueFd none;
  CHECK(none.get() == -1);
  CHECK_FALSE(none);

  int raw = -1;
  {
    Pipe p;
    raw = p.r.get();
    CHECK(p.r);
    CHECK(is_open(raw));
  }
  CHECK(is_closed(raw));
}

TEST_CASE("UniqueFd: a move hands ownership over; the source closes nothing", "[unique_fd]") {
  Pipe p;
  const int raw = p.r.get();
  UniqueFd moved;
  {
    UniqueFd tmp(std::move(p.r));
    CHECK(p.r.get() == -1);
    CHECK(tmp.get() == raw);
    moved = std::move(tmp);
    // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from state is what is checked
    CHECK(tmp.get() == -1);
  }  // tmp, now empty, is destroyed: it must not close raw
  CHECK(moved.get() == raw);
  CHECK(is_open(raw));
  moved = UniqueFd();  // move-assigning closes the one it held
  CHECK(is_closed(raw));
}

TEST_CASE("UniqueFd: move assignment closes the descriptor it replaces", "[unique_fd]") {
  Pipe p;
  const int r = p.r.get(), w = p.w.get();
  p.r = std::move(p.w);
  CHECK(is_closed(r));
  CHECK(p.r.get() == w);
  CHECK(is_open(w));

  auto& self = p.r;
  p.r = std::move(self);  // self-move keeps it
  CHECK(p.r.get() == w);
  CHECK(is_open(w));
}

TEST_CASE("UniqueFd: release gives the descriptor up without closing it", "[unique_fd]") {
  Pipe p;
  const int raw = p.r.release();
  CHECK_FALSE(p.r);
  CHECK(p.r.release() == -1);  // nothing left to give
  p.r.reset();                 // nor to close
  REQUIRE(is_open(raw));
  CHECK(::close(raw) == 0);
}

TEST_CASE("UniqueFd: reset closes once and adopts the new descriptor", "[unique_fd]") {
  Pipe a, b;
  const int first = a.r.get(), second = b.r.release();
  a.r.reset(second);
  CHECK(is_closed(first));
  CHECK(a.r.get() == second);

  a.r.reset();
  CHECK(is_closed(second));
  CHECK(a.r.get() == -1);

  // Closed once: a descriptor reopened under the old number is not closed again by the
  // now-empty owner.
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  UniqueFd reopened_r(fds[0]), reopened_w(fds[1]);
  a.r.reset();
  a.r = UniqueFd();
  CHECK(is_open(fds[0]));
  CHECK(is_open(fds[1]));
}
