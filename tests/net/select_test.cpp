#include <braid/net/select.hpp>
#include <braid/net/selector.hpp>

#include "net_test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <string>

using namespace std::chrono_literals;
using namespace braid::net;

TEST_CASE("select reports readable and writable descriptors", "[net][unit]") {
  auto [a, b] = braid::test::tcp_pair();
  std::vector<int> r{b.native_handle()}, w{a.native_handle()};
  auto res = braid::net::select(r, w, {}, 0s);
  CHECK(res.readable.empty());
  CHECK(res.writable == w);
  a.sendall("x");
  res = braid::net::select(r, {}, {}, 1s);
  CHECK(res.readable == r);
}

TEST_CASE("select parks only its coroutine and honours its timeout", "[net][unit]") {
  auto [a, b] = braid::test::tcp_pair();
  std::vector<int> r{b.native_handle()};
  const auto t0 = std::chrono::steady_clock::now();
  auto res = braid::net::select(r, {}, {}, 100ms);
  CHECK(res.readable.empty());
  CHECK(std::chrono::steady_clock::now() - t0 >= 100ms);
  auto waiter = braid::spawn([&] { return braid::net::select(r, {}, {}).readable; });
  braid::sleep(10ms);
  CHECK_FALSE(waiter.ready());
  a.sendall("y");
  REQUIRE(waiter.join(5s));
  CHECK(waiter.get() == r);
}

TEST_CASE("select rejects bad descriptors clearly", "[net][unit]") {
  std::vector<int> neg{-1};
  CHECK_THROWS_AS(braid::net::select(neg, {}, {}, 0s), std::invalid_argument);
  std::vector<int> closed{12345};
  CHECK_THROWS_WITH(braid::net::select(closed, {}, {}, 0s), Catch::Contains("fd 12345"));
}

TEST_CASE("select echo server in the style of the seed (S24)", "[net][unit]") {
  auto listener = TcpListener::bind("127.0.0.1", 0);
  const int lfd = listener.native_handle();
  auto server = braid::spawn([&] {
    std::map<int, TcpStream> conns;
    std::map<int, std::string> pending;
    int served = 0;
    while (served < 3) {
      std::vector<int> inputs{lfd}, outputs;
      for (auto& [fd, s] : conns) inputs.push_back(fd);
      for (auto& [fd, data] : pending) outputs.push_back(fd);
      auto res = braid::net::select(inputs, outputs, {}, 5s);
      for (int fd : res.readable) {
        if (fd == lfd) {
          auto s = listener.accept();
          conns.emplace(s.native_handle(), std::move(s));
          continue;
        }
        std::string data = conns.at(fd).recv(1024);
        if (data.empty()) {
          conns.erase(fd);
          pending.erase(fd);
          ++served;
        } else {
          pending[fd] += data;
        }
      }
      for (int fd : res.writable) {
        auto it = pending.find(fd);
        if (it == pending.end() || !conns.count(fd)) continue;
        conns.at(fd).sendall(it->second);
        pending.erase(it);
      }
    }
  });
  std::vector<braid::Task<bool>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(braid::spawn([i, port = listener.port()] {
      auto s = TcpStream::connect("127.0.0.1", port);
      bool ok = true;
      for (int m = 0; m < 5; ++m) {
        std::string out = "client " + std::to_string(i) + " msg " + std::to_string(m);
        s.sendall(out);
        std::string in(out.size(), '\0');
        s.recv_exact(in);
        ok = ok && in == out;
      }
      return ok;
    }));
  }
  REQUIRE(braid::joinall(clients, 10s));
  for (auto& c : clients) CHECK(c.get());
  REQUIRE(server.join(10s));
  server.get();
}

TEST_CASE("Selector echo with callbacks in key data (S25)", "[net][unit]") {
  using Callback = std::function<void(int, unsigned)>;
  BasicSelector<Callback> sel;
  auto listener = TcpListener::bind("127.0.0.1", 0);
  std::map<int, TcpStream> conns;
  int closed = 0;
  Callback on_read = [&](int fd, unsigned) {
    std::string data = conns.at(fd).recv(1024);
    if (data.empty()) {
      sel.unregister(fd);  // unregisters the key whose callback is running: safe
      conns.erase(fd);
      ++closed;
      return;
    }
    conns.at(fd).sendall(data);
  };
  sel.register_fd(listener.native_handle(), EVENT_READ, [&](int, unsigned) {
    auto s = listener.accept();
    const int fd = s.native_handle();
    conns.emplace(fd, std::move(s));
    sel.register_fd(fd, EVENT_READ, on_read);
  });
  auto server = braid::spawn([&] {
    while (closed < 2) {
      for (auto& [key, mask] : sel.select(5s)) key->data(key->fd, mask);
    }
  });
  auto client = [port = listener.port()](std::string text) {
    auto s = TcpStream::connect("127.0.0.1", port);
    s.sendall(text);
    std::string in(text.size(), '\0');
    s.recv_exact(in);
    return in;
  };
  auto c1 = braid::spawn(client, std::string("first"));
  auto c2 = braid::spawn(client, std::string("second"));
  REQUIRE(c1.join(5s));
  REQUIRE(c2.join(5s));
  CHECK(c1.get() == "first");
  CHECK(c2.get() == "second");
  REQUIRE(server.join(5s));
  CHECK(sel.size() == 1);
}

TEST_CASE("Selector registration errors are clear", "[net][unit]") {
  DefaultSelector sel;
  auto [a, b] = braid::test::tcp_pair();
  const int fd = a.native_handle();
  const auto& key = sel.register_fd(fd, EVENT_READ, std::any(std::string("data")));
  CHECK(key.fd == fd);
  CHECK(std::any_cast<std::string>(key.data) == "data");
  CHECK_THROWS_AS(sel.register_fd(fd, EVENT_READ), std::logic_error);  // duplicate
  CHECK_THROWS_AS(sel.register_fd(-1, EVENT_READ), std::invalid_argument);
  CHECK_THROWS_AS(sel.register_fd(b.native_handle(), 0), std::invalid_argument);
  CHECK_THROWS_AS(sel.register_fd(b.native_handle(), 4), std::invalid_argument);
  CHECK_THROWS_WITH(sel.register_fd(9999, EVENT_READ), Catch::Contains("fd 9999"));
  const int file = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  CHECK_THROWS_WITH(sel.register_fd(file, EVENT_READ), Catch::Contains("regular file"));
  ::close(file);
  CHECK_THROWS_AS(sel.modify(12345, EVENT_READ), std::logic_error);
  CHECK_THROWS_AS(sel.unregister(12345), std::logic_error);
  CHECK(sel.size() == 1);
  // Write readiness after modify; selecting with a zero timeout never parks.
  sel.modify(fd, EVENT_READ | EVENT_WRITE);
  auto ready = sel.select(0s);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].second == EVENT_WRITE);
  b.sendall("r");
  ready = sel.select(1s);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].second == (EVENT_READ | EVENT_WRITE));
  sel.unregister(fd);
  CHECK(sel.size() == 0);
  CHECK(sel.select(10ms).empty());
}
