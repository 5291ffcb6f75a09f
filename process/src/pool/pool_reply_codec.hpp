// How the parent decodes a worker's reply payload (layout in detail/pool_task.hpp): the
// pure decoding steps, apart from the slot that reads the socket and the sinks that take
// the results, so that tests/fuzz/pool_reply_fuzz.cpp can feed them arbitrary bytes.
#pragma once

#include <braid/process/detail/frame_codec.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace braid::process::detail {

/// The fixed head of every reply: which job, how it ended, how long it ran.
struct ReplyHead {
  std::uint64_t id = 0;
  std::uint8_t status = 0;  // kReplyOk, kReplyRaised or kReplyInitFailed
  std::chrono::nanoseconds run_time{0};
};

/// Reads a reply's head from `ar`, leaving `ar` at the body. FrameError when the payload
/// is too short for a head or the status is not one a worker sends.
ReplyHead read_reply_head(CheckedInputArchive& ar);

/// The body of a failure reply (kReplyRaised, kReplyInitFailed).
struct ReplyError {
  std::string type;  // the exception's demangled type
  std::string what;  // its what()
};

/// Reads a failure reply's body. Never throws for bad bytes: a report that does not
/// decode still fails the task, with a what() that says so.
ReplyError read_reply_error(CheckedInputArchive& ar);

}  // namespace braid::process::detail
