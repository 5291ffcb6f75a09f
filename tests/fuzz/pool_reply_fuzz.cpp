// libFuzzer target for the Pool's reply decoder: what the parent does with the bytes a
// worker sends back (pool_slot.cpp: Slot::handle_frames and handle_reply, then
// PoolCore::complete and the sinks of pool_result.hpp). The stream is cut into frames
// by FrameBuffer (frame_stream.hpp); each payload's head goes through read_reply_head,
// and its body is read as the sinks read it: an apply's value, a map chunk (load_count
// then the items) or a failure report (read_reply_error).
//
// Allowed outcomes: a decoded reply, FrameError or cereal::Exception (the parent fails
// the task or buries the worker). Anything else -- std::bad_alloc or length_error from a
// size nobody checked, a crash, a sanitizer report -- is a finding. Which body shape a
// reply is read as comes from its id: id % 4 picks it, and for a map chunk (id >> 2) % 64
// is the number of results the parent expects.
#include "frame_stream.hpp"

#include "pool/pool_reply_codec.hpp"

#include <braid/process/detail/pool_task.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

namespace fr = braid::process::detail;
constexpr const char* kTarget = "pool_reply_fuzz";

// Reads a kReplyOk body as the sink for `id`'s shape would.
void read_result(fr::InArchive& ar, std::uint64_t id) {
  const std::size_t expected = static_cast<std::size_t>((id >> 2) % 64);
  switch (id % 4) {
    case 0: {  // apply returning int
      int v = 0;
      ar(v);
      break;
    }
    case 1: {  // apply returning std::string
      std::string s;
      ar(s);
      break;
    }
    case 2: {  // a map chunk of doubles (bulk: binary_data)
      const std::size_t n = fr::load_count(ar, expected);
      auto out = std::make_unique<double[]>(n + 1);
      fr::load_items(ar, out.get(), n);
      break;
    }
    default: {  // a map chunk of strings (one by one)
      const std::size_t n = fr::load_count(ar, expected);
      std::vector<std::string> out(n);
      fr::load_items(ar, out.data(), n);
      break;
    }
  }
}

void check_reply(std::span<const std::byte> payload) {
  fr::ByteSource src(payload);
  fr::InArchive ar(src);
  fr::ReplyHead head;
  try {
    head = fr::read_reply_head(ar);
  } catch (const braid::process::FrameError& e) {
    if (!braid_fuzz::starts_with(e.what(), "Pool: "))
      braid_fuzz::fail(kTarget, "head rejected with an unexpected message", e.what());
    return;
  }
  if (head.run_time.count() < 0) braid_fuzz::fail(kTarget, "negative run time", "");
  if (head.status != fr::kReplyOk) {
    (void)fr::read_reply_error(ar);  // must not throw, whatever the bytes
    return;
  }
  try {
    read_result(ar, head.id);
  } catch (const braid::process::FrameError&) {
    // load_count: a chunk with the wrong number of results.
  } catch (const cereal::Exception&) {
    // Too short, an invalid bool, a size beyond the payload.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  braid_fuzz::read_frames(kTarget, data, size, check_reply);
  return 0;
}
