// braid::signal_handler (gevent.signal_handler) and braid::wait_signal: the handler runs in
// a coroutine of its own once per delivery, cancel() and destruction unregister it, it
// keeps the loop alive, its exceptions are logged; wait_signal returns the signal, times
// out, and yields to a kill. Signals come from raise() (this thread) or kill() (another
// thread); SIGUSR1/SIGUSR2 would end the test process if nothing caught them, so every
// test raises a signal only while a handler or a wait is registered for it.
#include <braid/coro/signal.hpp>

#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using braid::test::kSchedulingSlack;

namespace {

// Whether `sig` currently has its default disposition (nothing catches it).
bool default_action(int sig) {
  struct sigaction sa {};
  ::sigaction(sig, nullptr, &sa);
  return sa.sa_handler == SIG_DFL;
}

// A handler body that counts its runs and wakes the test after each.
struct Runs {
  int count = 0;
  braid::Event ran;
  std::function<void()> fn() {
    return [this] {
      ++count;
      ran.set();
    };
  }
  // Waits (bounded) for the next run and re-arms for the one after.
  bool next() {
    const bool ok = ran.wait(5s);
    ran.clear();
    return ok;
  }
};

// Raises SIGUSR1, waits (bounded) for `runs` to run, then gives the loop room for a run that
// should not happen (a cancelled handler's, a duplicate).
bool deliver_to(Runs& runs) {
  if (::raise(SIGUSR1) != 0) return false;
  const bool ok = runs.next();
  braid::sleep(50ms);
  return ok;
}

}  // namespace

TEST_CASE("signal_handler runs fn in a new coroutine, which may park", "[coro][signal]") {
  bool in_coroutine = false;
  std::string name;
  braid::Event done;
  auto h = braid::signal_handler(SIGUSR1, [&] {
    in_coroutine = braid::Hub::current().in_coroutine();
    name = braid::detail::Scheduling::running(braid::Hub::current()).display_name();
    braid::sleep(20ms);  // parking is allowed: this is a coroutine, not a loop callback
    done.set();
  });
  REQUIRE(h.active());
  REQUIRE(h.signum() == SIGUSR1);
  REQUIRE_FALSE(default_action(SIGUSR1));
  REQUIRE(::raise(SIGUSR1) == 0);
  REQUIRE(done.wait(5s));
  REQUIRE(in_coroutine);
  REQUIRE(name == "signal_handler(SIGUSR1)");
}

TEST_CASE("signal_handler runs fn once per delivery", "[coro][signal]") {
  Runs runs;
  auto h = braid::signal_handler(SIGUSR1, runs.fn());
  REQUIRE(::raise(SIGUSR1) == 0);
  REQUIRE(runs.next());
  REQUIRE(runs.count == 1);
  REQUIRE(deliver_to(runs));
  REQUIRE(runs.count == 2);
}

TEST_CASE("several handlers on one signal each run for every delivery", "[coro][signal]") {
  Runs a, b;
  auto ha = braid::signal_handler(SIGUSR1, a.fn());
  auto hb = braid::signal_handler(SIGUSR1, b.fn());
  REQUIRE(::raise(SIGUSR1) == 0);
  REQUIRE(a.next());
  REQUIRE(b.next());
  REQUIRE(a.count == 1);
  REQUIRE(b.count == 1);
}

TEST_CASE("cancel() stops a handler: a later signal does not run it", "[coro][signal]") {
  Runs keeper, victim;  // keeper keeps SIGUSR1 caught once victim is gone
  auto hk = braid::signal_handler(SIGUSR1, keeper.fn());
  auto hv = braid::signal_handler(SIGUSR1, victim.fn());
  REQUIRE(::raise(SIGUSR1) == 0);
  REQUIRE(keeper.next());
  REQUIRE(victim.next());

  hv.cancel();
  REQUIRE_FALSE(hv.active());
  REQUIRE(hv.signum() == SIGUSR1);
  hv.cancel();  // idempotent
  REQUIRE(deliver_to(keeper));
  REQUIRE(victim.count == 1);
  REQUIRE(keeper.count == 2);
}

TEST_CASE("cancel() also drops a signal that arrived but was not yet dispatched",
          "[coro][signal]") {
  Runs keeper, victim;
  auto hk = braid::signal_handler(SIGUSR1, keeper.fn());
  auto hv = braid::signal_handler(SIGUSR1, victim.fn());
  REQUIRE(::raise(SIGUSR1) == 0);  // recorded; the loop has not run since
  hv.cancel();
  REQUIRE(keeper.next());
  braid::sleep(50ms);
  REQUIRE(victim.count == 0);
}

TEST_CASE("the last handler's cancel() gives the signal its default action back",
          "[coro][signal]") {
  REQUIRE(default_action(SIGUSR2));
  {
    auto h = braid::signal_handler(SIGUSR2, [] {});
    REQUIRE_FALSE(default_action(SIGUSR2));
  }  // the destructor cancels
  REQUIRE(default_action(SIGUSR2));
}

TEST_CASE("moving a SignalHandler moves the registration and assigning cancels the old one",
          "[coro][signal]") {
  Runs a, b;
  auto ha = braid::signal_handler(SIGUSR1, a.fn());
  auto hb = braid::signal_handler(SIGUSR1, b.fn());
  braid::SignalHandler moved(std::move(hb));
  REQUIRE(hb.signum() == 0);
  REQUIRE_FALSE(hb.active());
  hb.cancel();  // an empty handle: nothing to do
  REQUIRE(moved.active());

  ha = std::move(moved);  // a's registration is cancelled, b's now lives in ha
  REQUIRE(ha.active());
  REQUIRE(deliver_to(b));
  REQUIRE(a.count == 0);
  REQUIRE(b.count == 1);
}

TEST_CASE("a registered handler keeps Hub::run() alive until it is cancelled", "[coro][signal]") {
  auto h = braid::signal_handler(SIGUSR1, [] {});
  braid::spawn([&h] {
    braid::sleep(100ms);
    h.cancel();
  });
  const auto took = braid::test::time_of([] { braid::Hub::current().run(); });
  REQUIRE_FALSE(h.active());
  REQUIRE(took >= 100ms);
  REQUIRE(took < 100ms + kSchedulingSlack);
}

TEST_CASE("with only a handler registered, main waits for it instead of LoopExit (gevent#392)",
          "[coro][signal]") {
  braid::Event stopped;
  braid::SignalHandler h;
  h = braid::signal_handler(SIGUSR1, [&] {
    stopped.set();
    h.cancel();
  });
  // No coroutine and no timer: only the handler keeps the loop from being finished. The
  // signal comes from another thread, as from another process.
  std::thread sender([] {
    std::this_thread::sleep_for(200ms);
    ::kill(::getpid(), SIGUSR1);
  });
  const auto took = braid::test::time_of([&] { stopped.wait(); });
  sender.join();
  REQUIRE(stopped.is_set());
  REQUIRE(took >= 150ms);
  REQUIRE(took < 200ms + kSchedulingSlack);
}

TEST_CASE("an exception from fn is logged and the handler stays registered", "[coro][signal]") {
  braid::test::LogCapture log;
  Runs runs;
  auto h = braid::signal_handler(SIGUSR1, [&] {
    runs.fn()();
    if (runs.count == 1) throw std::runtime_error("boom");
  });
  REQUIRE(::raise(SIGUSR1) == 0);
  REQUIRE(runs.next());  // main resumes only once the failed run has logged and ended
  REQUIRE_THAT(log.text(),
               Catch::Contains("signal_handler for SIGUSR1 (10): the handler threw: boom"));
  REQUIRE(h.active());
  REQUIRE(::raise(SIGUSR1) == 0);
  REQUIRE(runs.next());
  REQUIRE(runs.count == 2);
}

TEST_CASE("a handle that outlives its hub is released with the hub's loop", "[coro][signal]") {
  braid::SignalHandler h = braid::signal_handler(SIGUSR2, [] {});
  REQUIRE_FALSE(default_action(SIGUSR2));
  braid::Hub::uninstall();  // destroys the io_context under the handle
  REQUIRE_FALSE(h.active());
  REQUIRE(default_action(SIGUSR2));
  h.cancel();  // touches nothing of the destroyed loop (ASan would say)
}

TEST_CASE("wait_signal returns the signal that arrived", "[coro][signal]") {
  braid::Event waiting;
  auto t = braid::spawn([&] {
    waiting.set();  // does not switch: the wait below is registered before main resumes
    return braid::wait_signal({SIGUSR1, SIGUSR2}, 5s);
  });
  REQUIRE(waiting.wait(5s));
  REQUIRE(::raise(SIGUSR2) == 0);
  REQUIRE(t.get() == SIGUSR2);
  REQUIRE(default_action(SIGUSR2));  // the wait's registration went with it
}

TEST_CASE("wait_signal in main runs the hub until the signal comes", "[coro][signal]") {
  bool other_ran = false;
  braid::spawn([&] {
    braid::sleep(20ms);
    other_ran = true;
    ::raise(SIGUSR1);
  });
  const std::vector<int> sigs{SIGUSR2, SIGUSR1};
  REQUIRE(braid::wait_signal(sigs, 5s) == SIGUSR1);
  REQUIRE(other_ran);
}

TEST_CASE("wait_signal throws TimeoutError when nothing arrives in time", "[coro][signal]") {
  const auto took = braid::test::time_of([] {
    REQUIRE_THROWS_MATCHES(
        braid::wait_signal({SIGUSR1, SIGUSR2}, 100ms), braid::TimeoutError,
        Catch::Message("wait_signal(SIGUSR1 (10), SIGUSR2 (12)): timed out after 100ms"));
  });
  REQUIRE(took >= 100ms);
  REQUIRE(took < 100ms + kSchedulingSlack);
  REQUIRE(default_action(SIGUSR1));
}

TEST_CASE("wait_signal is interrupted promptly by a kill", "[coro][signal]") {
  braid::Event waiting;
  auto t = braid::spawn([&] {
    waiting.set();
    return braid::wait_signal({SIGUSR1});
  });
  REQUIRE(waiting.wait(5s));
  const auto took = braid::test::time_of([&] { t.kill(); });
  REQUIRE(took < kSchedulingSlack);
  REQUIRE(t.ready());
  REQUIRE_THROWS_AS(std::rethrow_exception(t.exception()), braid::GreenletExit);
  REQUIRE(default_action(SIGUSR1));
}

TEST_CASE("wait_signal yields to an enclosing Timeout", "[coro][signal]") {
  braid::Timeout limit(50ms);
  try {
    braid::wait_signal({SIGUSR1});
    FAIL("not interrupted");
  } catch (const braid::TimeoutError& e) {
    REQUIRE(e.fired_by(limit));
  }
}

TEST_CASE("signals that cannot be caught are refused with the reason", "[coro][signal]") {
  REQUIRE_THROWS_MATCHES(braid::signal_handler(SIGKILL, [] {}), std::invalid_argument,
                         Catch::Message("signal_handler: cannot catch SIGKILL (9)"));
  REQUIRE_THROWS_MATCHES(braid::signal_handler(SIGSTOP, [] {}), std::invalid_argument,
                         Catch::Message("signal_handler: cannot catch SIGSTOP (19)"));
  const std::string range = " (signals are 1.." + std::to_string(NSIG - 1) + ")";
  REQUIRE_THROWS_MATCHES(braid::signal_handler(0, [] {}), std::invalid_argument,
                         Catch::Message("signal_handler: invalid signal number 0" + range));
  REQUIRE_THROWS_MATCHES(braid::signal_handler(-3, [] {}), std::invalid_argument,
                         Catch::Message("signal_handler: invalid signal number -3" + range));
  REQUIRE_THROWS_MATCHES(
      braid::signal_handler(NSIG + 1, [] {}), std::invalid_argument,
      Catch::Message("signal_handler: invalid signal number " + std::to_string(NSIG + 1) + range));
  REQUIRE_THROWS_MATCHES(braid::signal_handler(SIGUSR1, nullptr), std::invalid_argument,
                         Catch::Message("signal_handler: empty function"));

  REQUIRE_THROWS_MATCHES(braid::wait_signal({SIGUSR1, SIGKILL}, 1s), std::invalid_argument,
                         Catch::Message("wait_signal: cannot catch SIGKILL (9)"));
  REQUIRE_THROWS_MATCHES(braid::wait_signal({0}), std::invalid_argument,
                         Catch::Message("wait_signal: invalid signal number 0" + range));
  REQUIRE_THROWS_MATCHES(braid::wait_signal(std::span<const int>{}), std::invalid_argument,
                         Catch::Message("wait_signal: no signals given"));
  REQUIRE(default_action(SIGUSR1));  // nothing was left registered
}

TEST_CASE("wait_signal may not park inside a hub callback", "[coro][signal]") {
  std::string error;
  braid::Hub::current().post([&] {
    try {
      braid::wait_signal({SIGUSR1}, 1s);
    } catch (const std::logic_error& e) {
      error = e.what();
    }
  });
  braid::sleep(20ms);
  REQUIRE_THAT(error, Catch::Contains("wait_signal"));
}
