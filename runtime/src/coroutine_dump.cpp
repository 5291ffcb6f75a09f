// dump_coroutines(): every live coroutine of a hub, what it waits on and since when, and
// where it came from. The same per-coroutine line explains a LoopExit.
#include <braid/runtime/diagnostics.hpp>

#include <braid/runtime/detail/format.hpp>

#include "diagnostics_registry.hpp"
#include "stack_frames.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <ostream>

namespace braid {

namespace detail {

std::atomic<bool> g_spawn_stacks{false};

namespace {

const char* state_name(FiberState s) {
  switch (s) {
    case FiberState::created:
      return "not started";
    case FiberState::ready:
      return "ready";
    case FiberState::running:
      return "running";
    case FiberState::parked:
      return "parked";
    case FiberState::done:
      return "done";
  }
  return "?";
}

// Frames of a spawn stack: the capture and braid's own spawn machinery come first.
constexpr std::size_t kSpawnFrames = 16;

}  // namespace

void DiagnosticsAccess::capture_spawn(FiberRecord& f) {
  void* frames[kSpawnFrames + 1];
  const std::size_t n = capture_frames(frames, kSpawnFrames + 1, 2);
  f.spawn_frames = std::make_unique<std::vector<void*>>(frames, frames + n);
}

DiagnosticsAccess::LiveIndex DiagnosticsAccess::index_live(const Hub& hub) {
  LiveIndex index;
  index.emplace(root(hub).id, &root(hub));
  for (const FiberRecord* f = live_head(hub); f != nullptr; f = f->live_next) {
    index.emplace(f->id, f);
  }
  return index;
}

std::string DiagnosticsAccess::describe(const LiveIndex& live, const FiberRecord& f,
                                        Clock::time_point now) {
  std::string line = fmt::format("#{} '{}' {}", f.id, f.display_name(), state_name(f.state));
  if (f.state == FiberState::parked) {
    line += fmt::format(" {} on {}", format_duration(now - f.parked_at), f.wait.what);
    if (f.wait.arg >= 0) line += fmt::format(" {}", f.wait.arg);
    if (f.pending != Interrupt::none) {
      line += f.pending == Interrupt::kill ? " (being killed)" : " (timing out)";
    }
  }
  if (!f.is_root) {
    if (const auto it = live.find(f.spawned_by); it != live.end()) {
      line += fmt::format(", spawned by #{} '{}'", it->second->id, it->second->display_name());
    } else {
      line += fmt::format(", spawned by #{} (finished)", f.spawned_by);
    }
  }
  return line;
}

std::string DiagnosticsAccess::format_all(const Hub& hub) {
  const auto now = Clock::now();
  std::size_t alive = 0, parked = 0, ready = 0;
  for (const FiberRecord* f = live_head(hub); f != nullptr; f = f->live_next) {
    ++alive;
    if (f->state == FiberState::parked) ++parked;
    if (f->state == FiberState::ready || f->state == FiberState::created) ++ready;
  }
  std::string out =
      fmt::format("{} coroutine(s) on the hub of thread {} ({} parked, {} ready or not started)\n",
                  alive, static_cast<long>(::gettid()), parked, ready);
  const LiveIndex live = index_live(hub);  // one lookup per coroutine, not a list walk
  out += "  " + describe(live, root(hub), now) + "\n";
  // The list is newest first; print in spawn order.
  std::vector<const FiberRecord*> all;
  all.reserve(alive);
  for (const FiberRecord* f = live_head(hub); f != nullptr; f = f->live_next) all.push_back(f);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const FiberRecord& f = **it;
    out += "  " + describe(live, f, now) + "\n";
    if (f.spawn_frames && !f.spawn_frames->empty()) {
      out += "    spawned at:\n";
      out += format_frames(f.spawn_frames->data(), f.spawn_frames->size(), "      ");
    }
  }
  return out;
}

}  // namespace detail

std::string format_coroutines() { return detail::DiagnosticsAccess::format_all(Hub::current()); }

void dump_coroutines(std::ostream& out) { out << format_coroutines() << std::flush; }

void capture_spawn_stacks(bool on) {
  if (on) detail::warm_up_stack_capture();
  detail::g_spawn_stacks.store(on, std::memory_order_relaxed);
}

}  // namespace braid
