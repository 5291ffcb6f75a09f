// Decoding a worker's reply (pool_reply_codec.hpp). Pure: no hub, no socket; the fuzz
// target tests/fuzz/pool_reply_fuzz.cpp compiles this file on its own.
#include "pool_reply_codec.hpp"

#include <braid/process/detail/pool_task.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <limits>

namespace braid::process::detail {

ReplyHead read_reply_head(CheckedInputArchive& ar) {
  ReplyHead h;
  std::uint64_t run_ns = 0;
  try {
    ar(h.id, h.status, run_ns);
  } catch (const cereal::Exception& e) {
    throw FrameError(
        fmt::format("Pool: a reply too short for its head (id, status, run time): {}", e.what()));
  }
  if (h.status != kReplyOk && h.status != kReplyRaised && h.status != kReplyInitFailed) {
    throw FrameError(fmt::format("Pool: the reply to job {} has an unknown status {}", h.id,
                                 static_cast<unsigned>(h.status)));
  }
  // A worker measures with steady_clock: anything above the int64 range is garbage.
  h.run_time = std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(
      std::min<std::uint64_t>(run_ns, std::numeric_limits<std::chrono::nanoseconds::rep>::max())));
  return h;
}

ReplyError read_reply_error(CheckedInputArchive& ar) {
  ReplyError e;
  try {
    ar(e.type, e.what);
  } catch (const std::exception&) {
    e.what = "(the error report did not decode)";
  }
  return e;
}

std::size_t load_count(InArchive& ar, std::size_t expected) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  if (n != expected) {
    throw FrameError(
        fmt::format("Pool: a chunk came back with {} results for {} inputs", n, expected));
  }
  return static_cast<std::size_t>(n);
}

}  // namespace braid::process::detail
