// examples/clients/curl_crawler: seed S22 with libcurl's unmodified blocking
// curl_easy_perform in 20 coroutines, braid_hooks linked in: 20 pages that each take
// 200 ms arrive together in about 200 ms. Without hooks (the control) they arrive one
// after another.
#include "example_output.hpp"
#include "net_example_support.hpp"
#include "run_example.hpp"
#include "server_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>

using braid::test::clients::number;

namespace {

// Checks every page arrived once per pass, with its size (http_pages.hpp: 1000 * (i + 1)).
void check_pages(const std::string& out, int urls) {
  std::size_t total = 0;
  for (int i = 0; i < urls; ++i) {
    const std::string line =
        "/page/" + std::to_string(i) + ": " + std::to_string(1000 * (i + 1)) + " bytes\n";
    CHECK(out.find(line) != std::string::npos);
    CHECK(out.find(line) != out.rfind(line));  // once per pass
    total += 1000 * static_cast<std::size_t>(i + 1);
  }
  for (const char* pass : {"sequential", "concurrent"}) {
    CHECK(out.find(std::string(pass) + ": " + std::to_string(urls) + " pages, " +
                   std::to_string(total) + " bytes") != std::string::npos);
  }
}

double pass_seconds(const std::string& out, const std::string& pass) {
  return number(out, pass + ": \\d+ pages, \\d+ bytes in ([0-9.]+) s");
}

}  // namespace

TEST_CASE(
    "curl_crawler: libcurl's blocking API in 20 coroutines, 20 pages of 200 ms in about "
    "200 ms",
    "[clients][curl][hooks]") {
  REQUIRE(braid::test::clients::example_built("curl_crawler"));
  // The pages are served by a braid StreamServer in the crawler's own process: only
  // because libcurl parks its coroutine can the server answer at all.
  auto r = braid::test::run_example("curl_crawler", "--urls 20 --delay-ms 200", true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("braid_hooks: linked") != std::string::npos);
  check_pages(r.out, 20);
  CHECK(pass_seconds(r.out, "sequential") >= 4.0);  // 20 x 200 ms
  CHECK(pass_seconds(r.out, "concurrent") >= 0.2);
  CHECK(pass_seconds(r.out, "concurrent") < 1.0);  // ~0.2 s
}

TEST_CASE("curl_crawler against http_server in another process, and the unhooked control",
          "[clients][curl][hooks]") {
  REQUIRE(braid::test::clients::example_built("curl_crawler"));
  braid::test::ServerProcess server("http_server", {"--port", "0", "--delay-ms", "100"});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  const std::string args = "--urls 5 --port " + std::to_string(port);

  auto hooked = braid::test::run_example("curl_crawler", args, true);
  INFO(hooked.out);
  CHECK(hooked.exit_code == 0);
  check_pages(hooked.out, 5);
  CHECK(pass_seconds(hooked.out, "concurrent") < pass_seconds(hooked.out, "sequential") / 2);

  auto control = braid::test::run_example("curl_crawler_unhooked", args, true);
  INFO(control.out);
  CHECK(control.exit_code == 0);
  CHECK(control.out.find("braid_hooks: not linked") != std::string::npos);
  check_pages(control.out, 5);
  CHECK(pass_seconds(control.out, "concurrent") >= 0.5);  // 5 x 100 ms, one after another
  CHECK(server.stop() == 0);
}

TEST_CASE("curl_crawler: failures are clear", "[clients][curl]") {
  SECTION("no server on the port") {
    const std::string port = std::to_string(braid::test::clients::free_port());
    auto r = braid::test::run_example("curl_crawler_unhooked", "--urls 1 --port " + port, true);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("Couldn't connect to server") != std::string::npos);
  }
  SECTION("the unhooked build refuses to serve its own pages") {
    auto r = braid::test::run_example("curl_crawler_unhooked", "--urls 1", true);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("give --port") != std::string::npos);
  }
}
