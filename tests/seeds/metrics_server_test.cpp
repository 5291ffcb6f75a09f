// examples/metrics_server: echo traffic shows up on its /metrics page, which is valid
// Prometheus text exposition (0.0.4); and the formatting helpers escape what the format
// says must be escaped.
#include <braid/net.hpp>

#include "../../examples/prometheus_text.hpp"
#include "net_example_support.hpp"
#include "run_example.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <csignal>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <string>

using namespace std::chrono_literals;

namespace {

// A sample line: name, optional labels (escaped values), value. No timestamps: braid
// writes none.
const std::regex kSampleLine(
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? )"
    R"((-?[0-9.eE+-]+|[+-]Inf|NaN)$)");
const std::regex kHelpLine(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
const std::regex kTypeLine(
    R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");

struct HttpReply {
  std::string status;                          // "HTTP/1.1 200 OK"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One request over a fresh connection ("Connection: close"), read to EOF; every wait
// bounded.
HttpReply http(std::uint16_t port, const std::string& method, const std::string& target) {
  auto s = braid::net::TcpStream::connect("127.0.0.1", port, 5s);
  s.set_timeout(10s);
  s.sendall(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string raw;
  char buf[4096];
  while (std::size_t n = s.recv(buf)) raw.append(buf, n);
  HttpReply r;
  const std::size_t head_end = raw.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  r.body = raw.substr(head_end + 4);
  std::size_t pos = raw.find("\r\n");
  r.status = raw.substr(0, pos);
  while (pos < head_end) {
    const std::size_t next = raw.find("\r\n", pos + 2);
    const std::string line = raw.substr(pos + 2, next - pos - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = next;
  }
  return r;
}

// The value of the sample line that starts with `series` ("name{labels}"); -1 if none.
double sample_value(const std::string& body, const std::string& series) {
  for (const auto& line : braid::test::lines_of(body)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace

TEST_CASE("metrics_server: echo traffic shows on /metrics, valid Prometheus text format",
          "[seeds][net]") {
  braid::test::ServerProcess server("metrics_server", {"--port", "0", "--metrics-port", "0"});
  const int echo_port = server.wait_port();
  REQUIRE(echo_port > 0);
  std::smatch m;
  const std::string out = server.output();
  REQUIRE(std::regex_search(out, m, std::regex("metrics on (\\d+)")));
  const auto metrics_port = static_cast<std::uint16_t>(std::stoi(m[1]));

  constexpr int kConnections = 3;
  for (int i = 0; i < kConnections; ++i) {
    auto c = braid::net::TcpStream::connect("127.0.0.1", static_cast<std::uint16_t>(echo_port), 5s);
    c.set_timeout(10s);
    c.sendall("ping " + std::to_string(i));
    std::string back(6, '\0');
    c.recv_exact(back);
    CHECK(back == "ping " + std::to_string(i));
  }

  const HttpReply r = http(metrics_port, "GET", "/metrics");
  INFO("status: " << r.status << "\nbody:\n" << r.body);
  REQUIRE(r.status == "HTTP/1.1 200 OK");
  CHECK(r.headers.count("content-type") == 1);
  CHECK(r.headers.at("content-type").rfind("text/plain; version=0.0.4", 0) == 0);

  // Every line is a HELP, a TYPE or a sample; each sample's family has HELP and TYPE
  // before it (every family here is a plain counter or gauge: no _sum/_bucket suffixes).
  std::set<std::string> helped, typed, sampled;
  for (const auto& line : braid::test::lines_of(r.body)) {
    INFO("line: " << line);
    std::smatch lm;
    if (std::regex_match(line, lm, kHelpLine)) {
      CHECK(helped.insert(lm[1]).second);  // one HELP per family
    } else if (std::regex_match(line, lm, kTypeLine)) {
      CHECK(typed.insert(lm[1]).second);
    } else {
      REQUIRE(std::regex_match(line, lm, kSampleLine));
      CHECK(helped.count(lm[1]) == 1);
      CHECK(typed.count(lm[1]) == 1);
      sampled.insert(lm[1]);
    }
  }
  CHECK(helped == typed);
  for (const char* name :
       {"braid_loop_turns_total", "braid_coroutines_live", "braid_parks_total",
        "braid_loop_lag_seconds", "braid_server_connections_accepted_total",
        "braid_server_connections_closed_total", "braid_server_handler_errors_total"}) {
    INFO("metric " << name);
    CHECK(sampled.count(name) == 1);
  }
  CHECK(sample_value(r.body, R"(braid_server_connections_accepted_total{server="echo"})") >=
        kConnections);
  CHECK(sample_value(r.body, R"(braid_server_handler_errors_total{server="echo"})") == 0);
  // This scrape is the endpoint's own first connection, live while it renders.
  CHECK(sample_value(r.body, R"(braid_server_connections_live{server="metrics"})") == 1);
  CHECK(sample_value(r.body, R"(braid_parks_total{kind="accept"})") >= 1);
  CHECK(sample_value(r.body, R"(braid_loop_lag_seconds{quantile="0.99"})") >= 0);

  // Anything else is refused clearly.
  CHECK(http(metrics_port, "GET", "/nope").status == "HTTP/1.1 404 Not Found");
  HttpReply post = http(metrics_port, "POST", "/metrics");
  CHECK(post.status == "HTTP/1.1 405 Method Not Allowed");
  CHECK(post.headers["allow"] == "GET");

  const int code = server.stop(SIGTERM, 10s);
  INFO("output:\n" << server.output());
  CHECK(code == 0);
  CHECK(server.output().find("stopped") != std::string::npos);
}

TEST_CASE("metrics_server: a bad port is a usage error naming the flag and value", "[seeds][net]") {
  const auto r = braid::test::run_example("metrics_server", "--metrics-port 70000", true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("--metrics-port takes a port number from 0 to 65535, not '70000'") !=
        std::string::npos);
  const auto u = braid::test::run_example("metrics_server", "--bogus 1", true);
  CHECK(u.exit_code == 2);
  CHECK(u.out.find("unknown option: --bogus") != std::string::npos);
}

TEST_CASE("prometheus_text: label values and HELP are escaped, values spelled as the format says",
          "[seeds][unit]") {
  namespace p = examples::prometheus;
  CHECK(p::escape_label_value("a\\b\"c\nd") == R"(a\\b\"c\nd)");
  CHECK(p::escape_label_value("plain") == "plain");
  CHECK(p::escape_help("say \"hi\"\\\nbye") == R"(say "hi"\\\nbye)");
  CHECK(p::format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(p::format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(p::format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(p::format_value(0.25) == "0.25");
  CHECK(p::format_value(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615");

  // A hostile label value still yields one grammatical line.
  p::Writer w;
  w.family("x_total", "counter", "Help with a \\ and a\nnewline.");
  w.sample({{"kind", "we\"ird}\n\\"}, {"b", ""}}, std::uint64_t{3});
  const auto lines = braid::test::lines_of(w.text());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == R"(# HELP x_total Help with a \\ and a\nnewline.)");
  CHECK(lines[1] == "# TYPE x_total counter");
  CHECK(lines[2] == R"(x_total{kind="we\"ird}\n\\",b=""} 3)");
  CHECK(std::regex_match(lines[2], kSampleLine));
  // The grammar the scrape test holds the page to does reject what is off.
  CHECK_FALSE(std::regex_match(std::string(R"(x_total{kind="a"b"} 3)"), kSampleLine));
  CHECK_FALSE(std::regex_match(std::string("x total 3"), kSampleLine));
  CHECK_FALSE(std::regex_match(std::string("x_total{kind=\"a\nb\"} 3"), kSampleLine));
  CHECK_FALSE(std::regex_match(std::string("x_total 3 ms"), kSampleLine));
}
