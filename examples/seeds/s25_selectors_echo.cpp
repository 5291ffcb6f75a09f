// Seed S25: the selectors.DefaultSelector echo server whose callbacks live in key.data,
// ported to braid::net::BasicSelector.
//
//   s25_selectors_echo [--clients N]      demo: serve N built-in clients, then exit
//   s25_selectors_echo --serve [--port P] serve forever ("listening on PORT")
#include "../cli.hpp"

#include <braid/net.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <string>

using namespace std::chrono_literals;
using braid::net::TcpListener;
using braid::net::TcpStream;

namespace {

using Callback = std::function<void(int fd, unsigned mask)>;

struct EchoServer {
  braid::net::BasicSelector<Callback> sel;  // sel = selectors.DefaultSelector()
  TcpListener server;
  std::map<int, TcpStream> conns;
  int closed = 0;

  void read(int fd, unsigned /*mask*/) {
    std::printf("receiving data\n");
    TcpStream& conn = conns.at(fd);
    std::string data = conn.recv(1024);
    if (data.empty()) {  // the client went away: unregister and close
      std::printf("connection closed\n");
      sel.unregister(fd);
      conns.erase(fd);
      ++closed;
      return;
    }
    std::printf("b'%s'\n", data.c_str());
    conn.sendall(data);
  }

  void accept(int /*fd*/, unsigned /*mask*/) {
    std::printf("new connection\n");
    TcpStream conn = server.accept();
    const int fd = conn.native_handle();
    conns.emplace(fd, std::move(conn));
    sel.register_fd(fd, braid::net::EVENT_READ, [this](int f, unsigned m) { read(f, m); });
  }

  void run(int max_clients) {
    sel.register_fd(server.native_handle(), braid::net::EVENT_READ,
                    [this](int f, unsigned m) { accept(f, m); });
    while (max_clients == 0 || closed < max_clients) {
      for (auto& [key, mask] : sel.select()) {
        key->data(key->fd, mask);  // callback = key.data; callback(key.fileobj, mask)
      }
    }
  }
};

std::string client(int i, std::uint16_t port) {
  auto s = TcpStream::connect("127.0.0.1", port, 5s);
  std::string got;
  for (const char* word : {"hello", "bye"}) {
    const std::string msg = std::string(word) + " from client " + std::to_string(i);
    s.sendall(msg);
    std::string reply(msg.size(), '\0');
    s.recv_exact(reply);
    got += (got.empty() ? "" : " | ") + reply;
  }
  return got;
}

}  // namespace

int main(int argc, char** argv) {
  bool serve = false;
  int clients = 2;
  std::uint16_t port = 0;
  braid_cli::po::options_description opts("options");
  opts.add_options()("clients", braid_cli::po::value(&clients), "demo clients (default 2)")(
      "serve", braid_cli::po::bool_switch(&serve), "only serve, until interrupted")(
      "port", braid_cli::po::value(&port), "port to serve on (default: any free port)");
  braid_cli::parse(argc, argv, "[--clients N] | --serve [--port P]", opts);
  try {
    EchoServer es{{}, TcpListener::bind("127.0.0.1", port, 10000), {}, 0};
    std::printf("listening on %u\n", es.server.port());
    std::fflush(stdout);
    if (serve) {
      es.run(0);
      return 0;
    }
    auto demo = braid::spawn([&] {
      for (int i = 0; i < clients; ++i) {
        std::printf("client %d got: %s\n", i, client(i, es.server.port()).c_str());
      }
    });
    es.run(clients);
    demo.get();
    std::printf("served %d clients\n", clients);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s25_selectors_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
