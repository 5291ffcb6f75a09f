// asio_fair_echo: the boost::asio::spawn echo server with the fairness probe inside
// (see probe.hpp), written as an Asio user would.
//
// One io_context on one thread, one spawned coroutine per connection (async_read_some
// of up to 4 KiB + async_write), plus
//   - a ticker coroutine: steady_timer::async_wait(tick) in a loop, lateness = wake -
//     the timer's expiry;
//   - a spawner coroutine: every spawn period, asio::post a new asio::spawn and measure
//     the delay from the post to the new coroutine's first instruction (asio::spawn
//     alone dispatches, i.e. would run the coroutine inline: post queues it behind the
//     loop's other work, as braid::spawn and gevent.spawn do).
// Prints "listening on PORT", then takes start/stop commands on stdin (probe.hpp).
//
// Usage: asio_fair_echo [--port P] [--tick-ms T] [--spawn-every-ms S]
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include <array>
#include <cstdio>
#include <iostream>

#include "probe.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kStackBytes = 64 * 1024;  // as asio_spawn_echo's default

void echo_session(tcp::socket sock, asio::yield_context yield) {
  boost::system::error_code ec;
  sock.set_option(tcp::no_delay(true), ec);  // as braid's TcpStream and the load generator
  std::array<char, 4096> data;
  for (;;) {
    std::size_t n = sock.async_read_some(asio::buffer(data), yield[ec]);
    if (ec) return;
    asio::async_write(sock, asio::buffer(data.data(), n), yield[ec]);
    if (ec) return;
  }
}

template <class F>
void spawn_on(asio::io_context& ctx, F&& f) {
  asio::spawn(ctx, std::allocator_arg, boost::context::fixedsize_stack(kStackBytes),
              std::forward<F>(f), asio::detached);
}

void accept_loop(asio::io_context& ctx, tcp::acceptor& acceptor, asio::yield_context yield) {
  asio::steady_timer backoff(ctx);
  for (;;) {
    boost::system::error_code ec;
    tcp::socket sock = acceptor.async_accept(yield[ec]);
    if (ec) {
      std::cerr << "accept: " << ec.message() << '\n';  // e.g. EMFILE: back off
      backoff.expires_after(std::chrono::milliseconds(10));
      backoff.async_wait(yield[ec]);
      continue;
    }
    spawn_on(ctx, [s = std::move(sock)](asio::yield_context y) mutable {
      echo_session(std::move(s), y);
    });
  }
}

void ticker(asio::io_context& ctx, fairbench::Probe& probe, asio::yield_context yield) {
  asio::steady_timer timer(ctx);
  for (;;) {
    timer.expires_after(probe.tick());
    probe.ticker_sleeping(
        std::chrono::duration_cast<std::chrono::nanoseconds>(timer.expiry().time_since_epoch())
            .count());
    timer.async_wait(yield);
    probe.ticker_woke(fairbench::now_ns());
  }
}

void spawner(asio::io_context& ctx, fairbench::Probe& probe, asio::yield_context yield) {
  asio::steady_timer timer(ctx);
  for (;;) {
    timer.expires_after(probe.spawn_every());
    timer.async_wait(yield);
    const std::uint64_t id = probe.spawning(fairbench::now_ns());
    asio::post(ctx, [&ctx, &probe, id] {
      spawn_on(ctx,
               [&probe, id](asio::yield_context) { probe.spawned_ran(id, fairbench::now_ns()); });
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  const fairbench::Options opt = fairbench::parse_options(argc, argv);
  fairbench::Probe probe("asio_spawn", fairbench::from_ms(opt.tick_ms),
                         fairbench::from_ms(opt.spawn_every_ms));
  asio::io_context ctx(1);  // one thread, as braid's hub

  // Opens, binds with SO_REUSEADDR and listens with the largest backlog.
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::address_v4::loopback(), opt.port));

  spawn_on(ctx, [&](asio::yield_context y) { accept_loop(ctx, acceptor, y); });
  spawn_on(ctx, [&](asio::yield_context y) { ticker(ctx, probe, y); });
  spawn_on(ctx, [&](asio::yield_context y) { spawner(ctx, probe, y); });
  probe.start_control_thread();

  std::printf("listening on %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  ctx.run();  // the control thread ends the process
  return 0;
}
