// Embedding: an application that already runs a boost::asio::io_context hands it to
// braid. braid's coroutines and the application's own Asio handlers then share one loop,
// on one thread, whichever of them drives it.
#include <braid/coro.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>

using namespace std::chrono_literals;

int main() {
  boost::asio::io_context app;  // the application's loop, created before braid's hub
  braid::Hub::install(std::make_unique<braid::Hub>(app));

  // The application's own callback-style code...
  int asio_ticks = 0;
  boost::asio::steady_timer timer(app);
  std::function<void(const boost::system::error_code&)> on_tick =
      [&](const boost::system::error_code& ec) {
        if (ec || ++asio_ticks == 5) return;
        timer.expires_after(10ms);
        timer.async_wait(on_tick);
      };
  timer.expires_after(10ms);
  timer.async_wait(on_tick);

  // ...and braid coroutines written as blocking code, on the same loop.
  auto worker = braid::spawn([] {
    int steps = 0;
    for (int i = 0; i < 3; ++i) {
      braid::sleep(15ms);
      ++steps;
    }
    return steps;
  });

  app.run();  // the application drives the loop as it always did
  std::printf("asio handler ticks: %d\nbraid coroutine steps: %d\n", asio_ticks, worker.get());
  braid::Hub::uninstall();  // before `app` goes away
}
