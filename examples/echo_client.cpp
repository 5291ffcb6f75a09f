// The echo client (seed S23's client), interactive or as a load generator.
//
//   echo_client [--host 127.0.0.1] --port P
//       Interactive, like the seed: reads lines from stdin (prompt ">>"), sends each,
//       prints the reply.
//   echo_client [--host H] --port P --connections C --size S --duration D
//       Load mode: C connections each send S-byte messages one at a time for D seconds,
//       verifying every byte of every reply; prints messages/s and p50/p99 latency.
//       Exits 1 on any mismatch or error.
#include <braid/net.hpp>

#include "cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t connections = 0;  // 0 = interactive
  std::size_t size = 64;
  double duration = 5.0;
};

Options parse(int argc, char** argv) {
  namespace po = braid_cli::po;
  Options o;
  po::options_description opts("options");
  opts.add_options()("host", po::value(&o.host)->default_value(o.host), "server address")(
      "port", po::value(&o.port)->required(), "server port")(
      "connections", po::value(&o.connections), "load mode: this many connections")(
      "size", po::value(&o.size)->default_value(o.size), "load mode: message bytes")(
      "duration", po::value(&o.duration)->default_value(o.duration), "load mode: seconds");
  const char* usage = "[--host H] --port P [--connections C --size S --duration SECONDS]";
  braid_cli::parse(argc, argv, usage, opts);
  if (o.port == 0) braid_cli::fail(argv[0], usage, "--port must not be 0");
  if (o.connections > 0 && o.size == 0) braid_cli::fail(argv[0], usage, "--size must not be 0");
  return o;
}

int interactive(const Options& o) {
  auto conn = braid::net::TcpStream::connect(o.host, o.port, 5s);
  std::string line;
  for (;;) {
    std::printf(">>");
    std::fflush(stdout);
    braid::wait_readable(STDIN_FILENO);  // park, not block: the hub stays responsive
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    conn.sendall(line);
    std::string reply = conn.recv(1023);
    if (reply.empty()) {
      std::printf("\nserver closed the connection\n");
      return 1;
    }
    std::printf("%s\n", reply.c_str());
  }
  std::printf("\n");
  return 0;
}

struct ClientStats {
  std::uint64_t messages = 0;
  std::uint64_t mismatches = 0;
  std::vector<std::uint32_t> latency_us;
};

ClientStats run_client(const Options& o, std::size_t id, Clock::time_point until) {
  ClientStats st;
  auto conn = braid::net::TcpStream::connect(o.host, o.port, 10s);
  std::string out(o.size, '\0'), in(o.size, '\0');
  for (std::uint64_t seq = 0; Clock::now() < until; ++seq) {
    for (std::size_t i = 0; i < o.size; ++i) {
      out[i] = static_cast<char>((id * 131 + seq * 7 + i) % 251);
    }
    const auto t0 = Clock::now();
    conn.sendall(out);
    conn.recv_exact(in);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
    st.latency_us.push_back(static_cast<std::uint32_t>(us.count()));
    if (in != out) ++st.mismatches;
    ++st.messages;
  }
  return st;
}

int load(const Options& o) {
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o.duration));
  std::vector<braid::Task<ClientStats>> clients;
  for (std::size_t i = 0; i < o.connections; ++i) {
    clients.push_back(braid::spawn([&o, i, until] { return run_client(o, i, until); }));
  }
  std::uint64_t messages = 0, mismatches = 0, errors = 0;
  std::vector<std::uint32_t> lat;
  for (auto& c : clients) {
    try {
      ClientStats st = c.get();
      messages += st.messages;
      mismatches += st.mismatches;
      lat.insert(lat.end(), st.latency_us.begin(), st.latency_us.end());
    } catch (const std::exception& e) {
      if (errors++ == 0) std::fprintf(stderr, "echo_client: %s\n", e.what());
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto pct = [&](double p) -> std::uint32_t {
    if (lat.empty()) return 0;
    const std::size_t k = std::min(lat.size() - 1, static_cast<std::size_t>(p * lat.size()));
    std::nth_element(lat.begin(), lat.begin() + static_cast<std::ptrdiff_t>(k), lat.end());
    return lat[k];
  };
  std::printf("connections %zu  size %zu B  duration %.2f s\n", o.connections, o.size, secs);
  std::printf("messages %llu  msgs/s %.0f  p50 %u us  p99 %u us\n",
              static_cast<unsigned long long>(messages), messages / secs, pct(0.50), pct(0.99));
  std::printf("verified %llu bytes, mismatches %llu, errors %llu\n",
              static_cast<unsigned long long>(messages * o.size),
              static_cast<unsigned long long>(mismatches), static_cast<unsigned long long>(errors));
  return mismatches == 0 && errors == 0 && messages > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    return o.connections == 0 ? interactive(o) : load(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_client: %s\n", e.what());
    return 1;
  }
}
