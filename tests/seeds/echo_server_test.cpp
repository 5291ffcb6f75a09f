// Runs examples/echo_server (seed S23) with examples/echo_client against it.
#include "net_example_support.hpp"
#include "run_example.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE(
    "S23 echo_server serves echo_client's load with every byte verified, then stops "
    "on SIGTERM",
    "[seeds][net]") {
  braid::test::ServerProcess server("echo_server", {"--port", "0", "--max-connections", "200"});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  const std::string p = std::to_string(port);
  auto load = braid::test::run_example(
      "echo_client", "--port " + p + " --connections 50 --size 64 --duration 1", true);
  INFO(load.out);
  CHECK(load.exit_code == 0);
  CHECK(load.out.find("mismatches 0, errors 0") != std::string::npos);
  CHECK(load.out.find("msgs/s") != std::string::npos);
  CHECK(load.out.find("p99") != std::string::npos);

  auto chat =
      braid::test::run_example("echo_client", "--port " + p + " <<'EOF'\nhello\nworld\nEOF\n");
  CHECK(chat.exit_code == 0);
  CHECK(chat.out == ">>hello\n>>world\n>>\n");

  CHECK(server.stop(SIGTERM) == 0);
  CHECK(server.output().find("stopped") != std::string::npos);
}

TEST_CASE("S23 echo_server logs connects at debug level", "[seeds][net]") {
  braid::test::ServerProcess server("echo_server", {"--port", "0", "--verbose"});
  const int port = server.wait_port();
  REQUIRE(port > 0);
  auto chat = braid::test::run_example("echo_client",
                                       "--port " + std::to_string(port) + " <<'EOF'\nping\nEOF\n");
  CHECK(chat.out == ">>ping\n>>\n");
  CHECK(server.stop(SIGINT) == 0);
  CHECK(server.output().find("connected: 127.0.0.1:") != std::string::npos);
  CHECK(server.output().find("disconnected: 127.0.0.1:") != std::string::npos);
}
