// braid's counters in the Prometheus text exposition format (version 0.0.4), for
// metrics_server and for any program that wants a /metrics page: Hub::stats() and
// StreamServer::stats() as HELP/TYPE/sample lines.
//
// Names follow Prometheus' conventions: counters end in _total, gauges have no suffix,
// durations are in seconds. Label values and HELP texts are escaped as the format asks
// (backslash, double quote and newline in label values; backslash and newline in HELP).
#pragma once

#include <braid/net/stream_server.hpp>
#include <braid/runtime/stats.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace examples::prometheus {

/// The exposition's Content-Type.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

/// `v` with backslash and newline escaped (\\ and \n), and double quotes too (\") when
/// `quotes`: label values need all three, HELP texts the first two.
inline std::string escape(std::string_view v, bool quotes) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}
inline std::string escape_label_value(std::string_view v) { return escape(v, true); }
inline std::string escape_help(std::string_view v) { return escape(v, false); }

/// A sample value: integers exactly, other numbers in their shortest round-trip form,
/// and the format's spellings of infinities and NaN.
inline std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
inline std::string format_value(std::uint64_t v) { return std::to_string(v); }

using Label = std::pair<std::string_view, std::string_view>;  // name, raw value

/// Builds one exposition: each family() starts a metric (HELP and TYPE lines), each
/// sample() adds a line to the family started last.
class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += escape_help(help);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }

  template <typename T>
  void sample(std::initializer_list<Label> labels, T value) {
    text_ += name_;
    if (labels.size() > 0) {
      char sep = '{';
      for (const auto& [k, v] : labels) {
        text_ += sep;
        text_ += k;
        text_ += "=\"";
        text_ += escape_label_value(v);
        text_ += '"';
        sep = ',';
      }
      text_ += '}';
    }
    text_ += ' ';
    text_ += format_value(value);
    text_ += '\n';
  }

  /// A family with one unlabelled sample.
  template <typename T>
  void single(std::string_view name, std::string_view type, std::string_view help, T value) {
    family(name, type, help);
    sample({}, value);
  }

  const std::string& text() const { return text_; }

 private:
  std::string name_;
  std::string text_;
};

/// One StreamServer's counters, under the `server` label's value.
struct NamedServer {
  std::string name;
  braid::net::ServerStats stats;
};

inline double seconds(braid::HubStats::Duration d) {
  return std::chrono::duration<double>(d).count();
}

/// The hub's counters and each server's, as one exposition. `window` says in the HELP
/// texts what the lag and longest-turn figures cover (e.g. "since the previous scrape").
inline std::string exposition(const braid::HubStats& hub, std::span<const NamedServer> servers,
                              std::string_view window) {
  const std::string over = " (" + std::string(window) + ")";
  Writer w;
  w.single("braid_loop_turns_total", "counter", "Hub loop turns.", hub.turns);
  w.single("braid_coroutine_switches_total", "counter", "Switches into a coroutine.", hub.switches);
  w.single("braid_coroutines_spawned_total", "counter", "Coroutines started.", hub.spawned);
  w.single("braid_coroutines_live", "gauge", "Coroutines alive now.", hub.live);
  w.single("braid_coroutines_peak", "gauge", "The most coroutines alive at once.", hub.peak_live);
  w.family("braid_parks_total", "counter", "Waits that parked a coroutine, by what was waited on.");
  for (const auto& [kind, n] : hub.parks_by_kind) w.sample({{"kind", kind}}, n);
  w.single("braid_timers_pending", "gauge", "Braid timers armed now.", hub.timers_pending);
  w.single("braid_timers_fired_total", "counter", "Braid timers that fired.", hub.timers_fired);
  w.single("braid_io_handlers_total", "counter", "Asio completion handlers the loop ran.",
           hub.io_handlers);
  w.family("braid_loop_lag_seconds", "gauge",
           "How late timers ran after their deadline, by quantile" + over + ".");
  w.sample({{"quantile", "0.5"}}, seconds(hub.lag_p50));
  w.sample({{"quantile", "0.99"}}, seconds(hub.lag_p99));
  w.sample({{"quantile", "1"}}, seconds(hub.lag_max));
  w.single("braid_loop_lag_samples", "gauge", "Timers the loop lag figures cover" + over + ".",
           hub.lag_samples);
  w.single("braid_loop_longest_turn_seconds", "gauge",
           "The longest loop turn, I/O waits excluded" + over + ".", seconds(hub.longest_turn));

  struct Field {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t braid::net::ServerStats::*member;
  };
  static constexpr Field kServerFields[] = {
      {"braid_server_connections_accepted_total", "counter", "Connections accepted.",
       &braid::net::ServerStats::accepted},
      {"braid_server_connections_live", "gauge", "Connection handlers running now.",
       &braid::net::ServerStats::live},
      {"braid_server_connections_closed_total", "counter",
       "Connections whose handler has ended, however it ended.", &braid::net::ServerStats::closed},
      {"braid_server_handler_errors_total", "counter",
       "Handlers that ended with an error (not a kill, not a vanished peer).",
       &braid::net::ServerStats::handler_errors},
      {"braid_server_peer_errors_total", "counter",
       "Handlers that ended because the peer went away (reset, EOF mid-message).",
       &braid::net::ServerStats::peer_errors},
  };
  for (const Field& f : kServerFields) {
    w.family(f.name, f.type, f.help);
    for (const NamedServer& s : servers) w.sample({{"server", s.name}}, s.stats.*(f.member));
  }
  return w.text();
}

}  // namespace examples::prometheus
