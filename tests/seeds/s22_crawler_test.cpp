// Runs the S22 crawler against examples/http_server (Boost.Beast over braid sockets),
// and in its self-contained mode; both also over TLS, with certificates made at test time.
#include "../net/tls_test_certs.hpp"
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

TEST_CASE("S22 crawler fetches pages over TLS from http_server --tls", "[seeds][net][tls]") {
  const auto& files = braid::test::tls_files();
  braid::test::ServerProcess server("http_server", {"--port", "0", "--delay-ms", "100", "--tls",
                                                    files.server_cert, files.server_key});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  auto r = braid::test::run_example(
      "s22_crawler", "--urls 5 --tls --ca " + files.ca_cert + " --port " + std::to_string(port),
      true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Get: https://127.0.0.1:" + std::to_string(port) + "/page/4\n") !=
        std::string::npos);
  CHECK(r.out.find("sequential: 5 pages, 15000 bytes") != std::string::npos);
  CHECK(r.out.find("concurrent: 5 pages, 15000 bytes") != std::string::npos);
  const double seq = seconds(r.out, "sequential"), conc = seconds(r.out, "concurrent");
  CHECK(seq >= 0.5);
  CHECK(conc < seq / 2);
  CHECK(server.stop() == 0);
  CHECK(server.output().find("listening on " + std::to_string(port) + " (HTTPS)") !=
        std::string::npos);
  CHECK(server.output().find("stopped") != std::string::npos);
}

TEST_CASE("S22 crawler refuses a TLS server it cannot verify, which goes on serving",
          "[seeds][net][tls]") {
  const auto& files = braid::test::tls_files();
  braid::test::ServerProcess server(
      "http_server", {"--port", "0", "--tls", files.self_signed_cert, files.self_signed_key});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  const std::string args =
      "--urls 2 --tls --ca " + files.ca_cert + " --port " + std::to_string(port);
  for (int i = 0; i < 2; ++i) {  // the second finds the server still there
    auto r = braid::test::run_example("s22_crawler", args, true);
    INFO(r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("s22_crawler: TLS handshake with 127.0.0.1:" + std::to_string(port) +
                     ": certificate verify failed (self-signed certificate)") != std::string::npos);
  }
  CHECK(server.stop() == 0);
  CHECK(server.output().find("stopped") != std::string::npos);
}

TEST_CASE("S22 crawler runs over TLS on its own in-process server", "[seeds][net][tls]") {
  const auto& files = braid::test::tls_files();
  auto r =
      braid::test::run_example("s22_crawler",
                               "--urls 3 --delay-ms 50 --tls --ca " + files.ca_cert + " --cert " +
                                   files.server_cert + " --key " + files.server_key,
                               true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Get: https://127.0.0.1:") != std::string::npos);
  CHECK(r.out.find("concurrent: 3 pages, 6000 bytes") != std::string::npos);
  auto usage = braid::test::run_example("s22_crawler", "--tls", true);
  CHECK(usage.exit_code == 2);
  CHECK(usage.out.find("give it --cert FILE --key FILE") != std::string::npos);
}
