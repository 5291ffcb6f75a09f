// Shared by the frame fuzz targets: an input is a byte stream as a peer would send it,
// preceded by two control bytes, and it is read the way FrameReader and the Pool's reply
// reader read a socket: into FrameBuffer::room(), in reads of varying sizes.
//
//   byte 0   seeds the sizes of the reads (1 byte at a time up to the whole room)
//   byte 1   picks the reader's payload limit: 16, 256, 4096 bytes or the default 1 GiB
//   rest     the stream
//
// After every read the buffer must stay within what the bytes that arrived justify: a
// header announcing 1 GiB must not make the reader allocate it (issue 11).
#pragma once

#include <braid/process/detail/frame_codec.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

namespace braid_fuzz {

namespace fr = braid::process::detail;

[[noreturn]] inline void fail(const char* target, const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s: %s\n", target, what, detail.c_str());
  std::abort();
}

inline bool starts_with(const char* s, const char* prefix) {
  return std::string(s).rfind(prefix, 0) == 0;
}

/// Reads the frames of `input` (layout above) and calls on_payload(span) for each
/// complete one. A rejected header ends the stream, as it does for a real reader; its
/// message must say what was wrong.
template <class OnPayload>
void read_frames(const char* target, const std::uint8_t* data, std::size_t size,
                 OnPayload&& on_payload) {
  if (size < 2) return;
  static constexpr std::size_t kLimits[] = {16, 256, 4096, fr::kDefaultMaxFrame};
  std::uint32_t rng = data[0] * 2654435761u + 1;
  fr::FrameBuffer buf(kLimits[data[1] % 4]);
  auto stream = std::as_bytes(std::span(data + 2, size - 2));
  try {
    while (!stream.empty()) {
      const std::span<std::byte> room = buf.room();
      if (room.empty()) fail(target, "room() is empty", "");
      rng = rng * 1664525u + 1013904223u;
      const std::size_t n =
          std::min({stream.size(), room.size(), std::size_t{1} + (rng >> 16) % 512});
      std::copy_n(stream.begin(), n, room.begin());
      buf.commit(n);
      stream = stream.subspan(n);
      // What arrived justifies the buffer (frame_codec.cpp, make_read_room/trim_read_buffer).
      if (buf.capacity() >
          std::max(fr::kKeptReadBuffer, 4 * buf.buffered() + fr::kFrameReadChunk)) {
        fail(target, "the buffer outgrew the bytes that arrived",
             std::to_string(buf.capacity()) + " bytes for " + std::to_string(buf.buffered()));
      }
      while (const auto payload = buf.front()) {
        on_payload(*payload);
        buf.pop();
      }
    }
  } catch (const braid::process::FrameError& e) {
    if (!starts_with(e.what(), "malformed frame: ") && !starts_with(e.what(), "oversized frame: "))
      fail(target, "header rejected with an unexpected message", e.what());
  }
}

}  // namespace braid_fuzz
