// Runs the S22 crawler against examples/http_server (Boost.Beast over braid sockets),
// and in its self-contained mode.
#include "net_example_support.hpp"
#include "run_example.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <string>

namespace {

double seconds(const std::string& out, const std::string& label) {
  std::smatch m;
  const std::regex re(label + ": \\d+ pages, \\d+ bytes in ([0-9.]+) s");
  REQUIRE(std::regex_search(out, m, re));
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("S22 crawler fetches pages from http_server, concurrently faster", "[seeds][net]") {
  braid::test::ServerProcess server("http_server", {"--port", "0", "--delay-ms", "100"});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  auto r = braid::test::run_example("s22_crawler", "--urls 5 --port " + std::to_string(port), true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  for (int i = 0; i < 5; ++i) {
    const std::string line =
        "/page/" + std::to_string(i) + ": " + std::to_string(1000 * (i + 1)) + " bytes\n";
    CHECK(r.out.find(line) != r.out.rfind(line));  // once per pass
  }
  CHECK(r.out.find("sequential: 5 pages, 15000 bytes") != std::string::npos);
  CHECK(r.out.find("concurrent: 5 pages, 15000 bytes") != std::string::npos);
  const double seq = seconds(r.out, "sequential"), conc = seconds(r.out, "concurrent");
  CHECK(seq >= 0.5);      // five 100 ms pages one after another
  CHECK(conc < seq / 2);  // overlapped: ~100 ms
  CHECK(server.stop() == 0);
  CHECK(server.output().find("stopped") != std::string::npos);
}

TEST_CASE("S22 crawler runs on its own in-process server", "[seeds][net]") {
  auto r = braid::test::run_example("s22_crawler", "--urls 3 --delay-ms 50", true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Get: http://127.0.0.1:") != std::string::npos);
  CHECK(r.out.find("speed-up: ") != std::string::npos);
}
