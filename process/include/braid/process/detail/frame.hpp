// The IPC frame layer shared by Connection (Pipe), the Manager and the worker Pool:
// length-prefixed frames on a byte stream (pipe or socketpair), payloads serialised
// with cereal's binary archive. The wire format, the payload codec and the bounded
// receive buffer are in detail/frame_codec.hpp; this header adds the I/O.
//
// What may switch: read_frame, write_frame, write_all and FrameReader::read park the
// calling coroutine while the descriptor is not ready (in main they run the hub). The
// descriptors must be non-blocking (set_nonblocking) for that; a blocking descriptor
// blocks the thread. Encoding and decoding never park.
#pragma once

#include <braid/process/detail/frame_codec.hpp>
#include <braid/runtime/hub.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace braid::detail {
class FdWatcher;  // <braid/runtime/detail/fd_watcher.hpp>
}  // namespace braid::detail

namespace braid::process::detail {

/// Makes `fd` non-blocking (O_NONBLOCK on its open file description, so every process
/// sharing it sees the change). std::system_error on failure.
void set_nonblocking(int fd);

/// Writes all of `bytes` to `fd`, parking while the descriptor is full (through
/// `watcher` when given, so a release() wakes the writer; else through wait_writable).
/// A closed reader is std::system_error(EPIPE); `what` names the call in error messages
/// ("send"). SIGPIPE is ignored by the hub, so a closed peer never kills the process.
void write_all(int fd, std::span<const std::byte> bytes, const char* what = "write_frame",
               braid::detail::FdWatcher* watcher = nullptr);

/// Writes one complete frame (from encode_frame / encode_value_frame). As write_all.
inline void write_frame(int fd, std::span<const std::byte> frame) {
  write_all(fd, frame, "write_frame");
}

/// Reads one frame from `fd` and returns its payload, parking only the calling coroutine.
/// Reads exactly the frame's bytes (no read-ahead), so any number of frames can be read
/// from one descriptor by different readers in turn. `timeout` limits the wait for the
/// frame to begin: once its first byte has arrived the rest is read without limit (a
/// frame abandoned half-way would leave the stream out of step), unless an enclosing
/// braid::Timeout or a kill interrupts it, which leaves the stream out of step. The
/// payload's buffer grows as its bytes arrive (doubling), not to the announced length.
///
/// @throws EOFError      the stream ended cleanly before the frame's first byte.
/// @throws FrameError    a malformed header, a payload above `max_payload`, or EOF inside
///                       the frame (truncated).
/// @throws TimeoutError  `timeout` elapsed before the frame began.
std::vector<std::byte> read_frame(int fd, std::optional<Duration> timeout = {},
                                  std::size_t max_payload = kDefaultMaxFrame);

/// A frame reader that keeps its state between calls: bytes already read (it reads ahead,
/// so small frames cost one read(2)) stay buffered when a call times out or is killed,
/// and the next call continues where it stopped. One reader per descriptor and process.
/// Its buffer grows with the bytes that arrive, not with what a header announces
/// (FrameBuffer).
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_payload = kDefaultMaxFrame) : buf_(max_payload) {}

  /// Reads the next frame's payload from the descriptor `watcher` watches, parking while
  /// none is complete. The same errors as read_frame; `timeout` covers the whole call,
  /// and a frame cut short by it is kept.
  std::vector<std::byte> read(braid::detail::FdWatcher& watcher, int fd,
                              std::optional<Duration> timeout, const char* what);
  /// True when a whole frame is already buffered (read() will not park).
  bool has_frame() const { return buf_.front().has_value(); }
  /// True when any unread byte is buffered.
  bool has_bytes() const noexcept { return buf_.buffered() > 0; }
  /// Bytes the reader's buffer holds allocated (for tests of what a peer can cost).
  std::size_t buffer_capacity() const noexcept { return buf_.capacity(); }
  std::size_t max_payload() const noexcept { return buf_.max_payload(); }
  void set_max_payload(std::size_t n) noexcept { buf_.set_max_payload(n); }

 private:
  // Reads what the descriptor has into the buffer; false on EOF, parks when empty.
  bool fill(braid::detail::FdWatcher& watcher, std::optional<Duration> timeout, const char* what);

  FrameBuffer buf_;
};

}  // namespace braid::process::detail
