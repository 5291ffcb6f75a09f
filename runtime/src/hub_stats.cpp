// Hub::stats(): a snapshot of the counters the loop keeps (detail::HubMetrics).
#include <braid/runtime/hub.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace braid {

namespace {

// The sample at fraction `q` (0..1) of the sorted window, nearest rank.
std::int64_t quantile(const std::vector<std::int64_t>& sorted, double q) {
  const auto rank =
      static_cast<std::size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(rank, sorted.size() - 1)];
}

}  // namespace

HubStats Hub::stats(bool reset_window) {
  HubStats s;
  const detail::HubMetrics& m = metrics_;
  s.turns = m.turns;
  s.switches = m.switches;
  s.spawned = m.spawned;
  s.live = live_count_;
  s.peak_live = m.peak_live;
  s.parks = m.parks;
  s.timers_pending = timers_.size();
  s.timers_fired = m.timers_fired;
  s.io_handlers = m.io_handlers;

  // Call sites in different translation units may use equal strings at different
  // addresses: merge by text.
  std::map<std::string, std::uint64_t> kinds;
  for (const auto& k : m.park_kinds) {
    if (k.what != nullptr) kinds[k.what] += k.count;
  }
  if (m.parks_other > 0) kinds["(other)"] += m.parks_other;
  s.parks_by_kind.assign(kinds.begin(), kinds.end());
  std::stable_sort(s.parks_by_kind.begin(), s.parks_by_kind.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });

  const std::size_t n = static_cast<std::size_t>(
      std::min<std::uint64_t>(m.lag_count, detail::HubMetrics::kLagWindow));
  if (n > 0) {
    std::vector<std::int64_t> lag(m.lag_ns.begin(),
                                  m.lag_ns.begin() + static_cast<std::ptrdiff_t>(n));
    std::sort(lag.begin(), lag.end());
    s.lag_p50 = std::chrono::nanoseconds(quantile(lag, 0.50));
    s.lag_p99 = std::chrono::nanoseconds(quantile(lag, 0.99));
    s.lag_max = std::chrono::nanoseconds(lag.back());
  }
  s.lag_samples = n;
  s.longest_turn = m.longest_turn;
  if (reset_window) {
    metrics_.lag_count = 0;
    metrics_.longest_turn = std::chrono::nanoseconds{0};
  }
  return s;
}

}  // namespace braid
