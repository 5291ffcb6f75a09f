#include <braid/runtime.hpp>

#include <boost/asio/post.hpp>
#include <braid/coro.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("each thread has its own hub, created on first use", "[runtime][hub]") {
  braid::Hub& mine = braid::Hub::current();
  REQUIRE(&mine == &braid::Hub::current());
  braid::Hub* other = nullptr;
  std::thread([&] { other = &braid::Hub::current(); }).join();
  REQUIRE(other != &mine);
  REQUIRE_FALSE(mine.in_coroutine());
}

TEST_CASE("post from other threads runs on the hub's thread, in order per thread",
          "[runtime][hub]") {
  braid::Hub& hub = braid::Hub::current();
  const auto hub_thread = std::this_thread::get_id();
  braid::Hub::KeepAlive keep(hub);  // the posters are not known to the loop otherwise
  std::atomic<int> done_threads{0};
  std::vector<int> seen;
  bool wrong_thread = false;
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        hub.post([&, t, i] {
          if (std::this_thread::get_id() != hub_thread) wrong_thread = true;
          seen.push_back(t * 1000 + i);
          if (i == 999 && ++done_threads == 4) hub.stop();
        });
      }
    });
  }
  hub.run();
  for (auto& p : posters) p.join();
  REQUIRE_FALSE(wrong_thread);
  REQUIRE(seen.size() == 4000);
  for (int t = 0; t < 4; ++t) {  // FIFO per posting thread
    int last = -1;
    for (int v : seen) {
      if (v / 1000 != t) continue;
      REQUIRE(v > last);
      last = v;
    }
  }
}

TEST_CASE("run() returns when no work is left", "[runtime][hub]") {
  int n = 0;
  for (int i = 0; i < 3; ++i)
    braid::spawn([&] {
      braid::sleep(5ms);
      ++n;
    });
  braid::Hub::current().run();
  REQUIRE(n == 3);
  REQUIRE(braid::Hub::current().live_count() == 0);
}

TEST_CASE("stop() called by a coroutine makes run() return", "[runtime][hub]") {
  braid::Event never;
  auto waiter = braid::spawn([&] { never.wait(); });
  braid::spawn([] {
    braid::sleep(10ms);
    braid::Hub::current().stop();
  });
  braid::Hub::current().run();  // would otherwise return only when `waiter` ends
  REQUIRE_FALSE(waiter.ready());
  waiter.kill();
  REQUIRE(waiter.ready());
}

TEST_CASE("loop-driving calls are refused inside a coroutine", "[runtime][hub]") {
  auto t = braid::spawn([] { braid::Hub::current().run(); });
  REQUIRE(t.join(5s));
  REQUIRE_THROWS_AS(t.get(), std::logic_error);
}

TEST_CASE("a host loop drives the hub with poll(), next_timeout() and native_handle()",
          "[runtime][hub][embed]") {
  braid::Hub& hub = braid::Hub::current();
  // -1 with reactors that have none (select), or without Asio's private members
  // (BRAID_ASIO_PLAIN, see runtime/src/asio_private.hpp).
  const int fd = hub.native_handle();
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BRAID_ASIO_PLAIN)
  REQUIRE(fd >= 0);
#endif
  int ticks = 0;
  auto ticker = braid::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      braid::sleep(10ms);
      ++ticks;
    }
  });
  std::size_t host_frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!ticker.ready() && std::chrono::steady_clock::now() < deadline) {
    ++host_frames;
    hub.poll();
    auto wait = hub.next_timeout();
    int ms =
        wait ? static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*wait).count()) : 100;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, fd >= 0 ? 1 : 0, ms);  // the host sleeps in its own poll, not in braid
  }
  REQUIRE(ticker.ready());
  REQUIRE(ticks == 5);
  REQUIRE(host_frames < 1000);  // it slept between frames instead of spinning
}

TEST_CASE("native_handle becomes readable when another thread posts", "[runtime][hub][embed]") {
  braid::Hub& hub = braid::Hub::current();
  if (hub.native_handle() < 0) {
    SUCCEED("this reactor has no single descriptor to poll");
    return;
  }
  hub.poll();
  bool ran = false;
  std::thread t([&] { hub.post([&] { ran = true; }); });
  pollfd p{hub.native_handle(), POLLIN, 0};
  const int polled = ::poll(&p, 1, 5000);
  t.join();
  REQUIRE(polled == 1);
  hub.poll();
  REQUIRE(ran);
}

TEST_CASE("native_handle becomes readable when another thread calls stop",
          "[runtime][hub][embed]") {
  braid::Hub& hub = braid::Hub::current();
  if (hub.native_handle() < 0) {
    SUCCEED("this reactor has no single descriptor to poll");
    return;
  }
  for (int round = 0; round < 20; ++round) {  // each round starts from a drained loop
    hub.poll();
    std::thread t([&] { hub.stop(); });
    pollfd p{hub.native_handle(), POLLIN, 0};
    const int polled = ::poll(&p, 1, 5000);
    t.join();
    REQUIRE(polled == 1);
    hub.run_once();  // consumes the stop request
  }
}

TEST_CASE("run_once waits for and runs at least one thing", "[runtime][hub][embed]") {
  braid::Hub& hub = braid::Hub::current();
  bool woke = false;
  braid::spawn([&] {
    braid::sleep(20ms);
    woke = true;
  });
  std::size_t spins = 0;
  while (!woke && spins < 100) {
    hub.run_once();
    ++spins;
  }
  REQUIRE(woke);
  REQUIRE(spins < 10);
  REQUIRE(hub.run_once() == 0);  // nothing left
}

TEST_CASE("run_for runs for about the given time", "[runtime][hub][embed]") {
  braid::Hub& hub = braid::Hub::current();
  int ticks = 0;
  auto t = braid::spawn([&] {
    for (;;) {
      braid::sleep(5ms);
      ++ticks;
    }
  });
  const auto took = braid::test::time_of([&] { hub.run_for(100ms); });
  REQUIRE(took >= 100ms);
  REQUIRE(took < 100ms + braid::test::kSchedulingSlack);
  REQUIRE(ticks >= 5);
  t.kill();
}

TEST_CASE("a blocking call inside a posted function is refused", "[runtime][hub]") {
  braid::Hub& hub = braid::Hub::current();
  std::string error;
  hub.post([&] {
    try {
      braid::sleep(1ms);
    } catch (const std::logic_error& e) {
      error = e.what();
    }
  });
  hub.run();
  REQUIRE_THAT(error, Catch::Contains("inside a hub callback"));
}

TEST_CASE("an exception from a posted function is logged and the hub lives on", "[runtime][hub]") {
  braid::test::LogCapture log;
  braid::Hub& hub = braid::Hub::current();
  hub.post([] { throw std::runtime_error("posted boom"); });
  bool after = false;
  hub.post([&] { after = true; });
  hub.run();
  REQUIRE(after);
  REQUIRE_THAT(log.text(), Catch::Contains("posted boom"));
}

TEST_CASE("a hub adopts an application's io_context", "[runtime][hub][embed]") {
  std::thread([] {
    boost::asio::io_context app_ctx;
    braid::Hub& hub = braid::Hub::install(std::make_unique<braid::Hub>(app_ctx));
    REQUIRE(&hub.context() == &app_ctx);
    bool asio_handler = false;
    boost::asio::post(app_ctx, [&] { asio_handler = true; });
    auto t = braid::spawn([] {
      braid::sleep(5ms);
      return 7;
    });
    REQUIRE(t.get() == 7);  // main's blocking call ran the shared loop
    REQUIRE(asio_handler);
    REQUIRE_THROWS_AS(braid::Hub::install(std::make_unique<braid::Hub>()), std::logic_error);
    braid::Hub::uninstall();  // before app_ctx goes away
  }).join();
}

TEST_CASE("destroying a hub unwinds its live coroutines", "[runtime][hub]") {
  std::atomic<int> destructors{0};
  std::atomic<int> started{0};
  struct Guard {
    std::atomic<int>* n;
    ~Guard() { ++*n; }
  };
  std::thread([&] {
    for (int i = 0; i < 10; ++i) {
      braid::spawn([&] {
        Guard g{&destructors};
        ++started;
        braid::Event never;
        never.wait();
      });
    }
    braid::spawn([&] {  // never started: its captured state is still destroyed
      Guard g{&destructors};
    })
        .kill(false);
    braid::yield_now();  // start them
  }).join();             // thread exit destroys the hub
  REQUIRE(started == 10);
  REQUIRE(destructors == 10);
}

TEST_CASE("stack size settings are validated", "[runtime][stack]") {
  REQUIRE_THROWS_AS(braid::set_default_stack_size(1024), std::invalid_argument);
  const auto before = braid::default_stack_size();
  braid::set_default_stack_size(256 * 1024);
  REQUIRE(braid::default_stack_size() >= 256 * 1024);
  braid::set_default_stack_size(before);  // restore (before may be scaled under sanitizers)
}

TEST_CASE("stacks are pooled and reused", "[runtime][stack]") {
  for (int i = 0; i < 10; ++i) braid::spawn([] { braid::sleep(1ms); }).join();
  const auto s1 = braid::stack_pool_stats();
  for (int i = 0; i < 100; ++i) braid::spawn([] {}).join();
  const auto s2 = braid::stack_pool_stats();
  REQUIRE(s2.slabs == s1.slabs);  // no new mappings for sequential spawns
  REQUIRE(s2.in_use == 0);
}

TEST_CASE("a hub destroyed with a killed, never-started task in its queue frees it",
          "[runtime][hub]") {
  std::weak_ptr<int> watch;
  std::thread([&] {
    auto token = std::make_shared<int>(1);
    watch = token;
    auto t = braid::spawn([token] { return *token; });
    token.reset();
    t.kill();  // never runs; it stays queued until the loop turns, which it never does
  }).join();   // the hub dies here
  REQUIRE(watch.expired());
}
