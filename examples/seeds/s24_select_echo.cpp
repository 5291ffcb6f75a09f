// Seed S24: the select.select() echo server with input/output lists and a message queue
// per connection, ported to braid::net::select().
//
//   s24_select_echo [--clients N]      demo: serve N built-in clients, then exit
//   s24_select_echo --serve [--port P] serve forever ("listening on PORT")
//
// select() parks only the calling coroutine, so in the demo the clients run as
// coroutines of the same thread while the server loop waits in select().
#include "../cli.hpp"

#include <braid/net.hpp>

#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using braid::net::TcpListener;
using braid::net::TcpStream;

namespace {

// The seed's loop: readable sockets are read (or accepted) and their data queued,
// writable ones get their queue sent back, exceptional ones are dropped.
// Returns after `max_clients` connections have closed (0 = never).
void select_server(TcpListener& server, int max_clients) {
  const int server_fd = server.native_handle();
  std::map<int, TcpStream> conns;                     // fd -> connection
  std::map<int, std::deque<std::string>> msg_queues;  // fd -> data to echo
  std::vector<int> inputs{server_fd}, outputs;
  int closed = 0;
  auto drop = [&](int fd) {
    std::erase(inputs, fd);
    std::erase(outputs, fd);
    msg_queues.erase(fd);
    conns.erase(fd);
  };
  while (max_clients == 0 || closed < max_clients) {
    std::printf("...........................\n");
    auto [readable, writable, exceptional] = braid::net::select(inputs, outputs, inputs);
    for (int r : readable) {
      if (r == server_fd) {
        std::printf("new connection\n");
        TcpStream conn = server.accept();
        const int fd = conn.native_handle();
        conns.emplace(fd, std::move(conn));
        inputs.push_back(fd);
        msg_queues[fd];
        continue;
      }
      std::printf("receiving data\n");
      std::string data = conns.at(r).recv(1024);
      if (data.empty()) {  // the seed loops on b'' here; closing is what it meant
        std::printf("connection closed\n");
        drop(r);
        ++closed;
        continue;
      }
      std::printf("b'%s'\n", data.c_str());
      msg_queues[r].push_back(std::move(data));
      if (std::find(outputs.begin(), outputs.end(), r) == outputs.end()) outputs.push_back(r);
    }
    for (int w : writable) {
      auto q = msg_queues.find(w);
      if (q == msg_queues.end() || q->second.empty()) continue;  // dropped above
      std::printf("sending data\n");
      conns.at(w).sendall(q->second.front());
      q->second.pop_front();
      if (q->second.empty()) std::erase(outputs, w);
    }
    for (int e : exceptional) {
      std::printf("error\n");
      drop(e);
    }
  }
}

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
    auto server = TcpListener::bind("127.0.0.1", port, 10000);
    std::printf("listening on %u\n", server.port());
    std::fflush(stdout);
    if (serve) {
      select_server(server, 0);
      return 0;
    }
    // One client at a time keeps the transcript readable and the same on every run.
    auto demo = braid::spawn([&] {
      for (int i = 0; i < clients; ++i)
        std::printf("client %d got: %s\n", i, client(i, server.port()).c_str());
    });
    select_server(server, clients);
    demo.get();
    std::printf("served %d clients\n", clients);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s24_select_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
