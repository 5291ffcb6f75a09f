// Boost.Stacktrace with its libbacktrace backend (linked, not header-only): function
// names and file:line from the binary's debug information, no helper process.
#define BOOST_STACKTRACE_LINK
#include "stack_frames.hpp"

#include <boost/stacktrace/frame.hpp>
#include <boost/stacktrace/safe_dump_to.hpp>

#include <fmt/format.h>

namespace braid::detail {

std::size_t capture_frames(void** out, std::size_t max, std::size_t skip) noexcept {
  // safe_dump_to stores native frame pointers and a terminating null (counted in `max`).
  const std::size_t n = boost::stacktrace::safe_dump_to(skip + 1, out, max * sizeof(void*));
  return n > max ? max : n;
}

void warm_up_stack_capture() noexcept {
  void* frames[4];
  (void)capture_frames(frames, 4, 0);
}

namespace {

// std::invoke / std::apply plumbing between a coroutine's body and braid's entry: true
// frames, but noise in a report.
bool is_call_plumbing(const std::string& name) {
  for (const char* p : {"std::__invoke", "std::invoke<", "std::__apply_impl<", "std::apply<"}) {
    if (name.find(p) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::string format_frames(void* const* frames, std::size_t n, const char* indent) {
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < n && frames[i] != nullptr; ++i) {
    const boost::stacktrace::frame f(frames[i]);
    std::string name = f.name();
    if (is_call_plumbing(name)) continue;
    if (name.empty()) name = fmt::format("{}", frames[i]);
    const std::string file = f.source_file();
    if (file.empty()) {
      out += fmt::format("{}#{} {}\n", indent, shown, name);
    } else {
      out += fmt::format("{}#{} {} at {}:{}\n", indent, shown, name, file, f.source_line());
    }
    ++shown;
    // Below a coroutine's entry there is only Boost.Context's start-up.
    if (name.starts_with("braid::Hub::fiber_main")) break;
  }
  return out;
}

}  // namespace braid::detail
