// Socket waits sit in the parking contract (parking_contract.hpp): a timeout returns
// false no earlier than asked, an enclosing Timeout is not swallowed, kill() while
// parked unwinds, and the wait is timed by braid's clock.
#include <braid/net/tcp_listener.hpp>
#include <braid/net/tcp_stream.hpp>

#include "parking_contract.hpp"

namespace {

using braid::net::TcpListener;
using braid::net::TcpStream;

// The call's own timeout (set_timeout) is a TimeoutError with no source; an enclosing
// braid::Timeout names itself and goes through.
template <class F>
bool false_on_own_timeout(F&& call) {
  try {
    call();
    return true;
  } catch (const braid::TimeoutError& e) {
    if (e.source() != nullptr) throw;
    return false;
  }
}

// recv on a connected TcpStream whose peer sends nothing.
struct TcpRecvWaiter {
  TcpListener listener = TcpListener::bind("127.0.0.1", 0);
  TcpStream client = TcpStream::connect("127.0.0.1", listener.port());
  TcpStream server = listener.accept();
  bool wait(std::optional<braid::Duration> t) {
    server.set_timeout(t);
    return false_on_own_timeout([&] {
      char c = 0;
      (void)server.recv({&c, 1});
    });
  }
};
// accept on a listener nobody connects to.
struct AcceptWaiter {
  TcpListener listener = TcpListener::bind("127.0.0.1", 0);
  bool wait(std::optional<braid::Duration> t) {
    listener.set_timeout(t);
    return false_on_own_timeout([&] { (void)listener.accept(); });
  }
};

}  // namespace

TEMPLATE_TEST_CASE("socket waits honour the parking contract", "[net][contract]", TcpRecvWaiter,
                   AcceptWaiter) {
  braid::test::check_parking_contract<TestType>();
}
