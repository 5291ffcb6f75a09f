// The I/O half of the frame layer (detail/frame.hpp): writing frames, and reading them
// exactly (read_frame) or with read-ahead (FrameReader). The format itself is in
// frame_codec.cpp.
#include <braid/process/detail/frame.hpp>

#include <braid/runtime/detail/deadline.hpp>
#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace braid::process::detail {
namespace {

// Reads exactly `n` bytes into `out`, parking while none are available. Returns the
// count read before EOF (== n unless the stream ended). `first_timeout` applies only
// while nothing has been read yet.
std::size_t read_exact(int fd, std::byte* out, std::size_t n, std::optional<Duration> first_timeout,
                       bool first) {
  std::size_t got = 0;
  while (got < n) {
    Hub::current().cooperate();  // a writer as fast as we read must not keep the hub away
    const ssize_t r = braid::detail::sys::read(fd, out + got, n - got);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
      first = false;
    } else if (r == 0) {
      return got;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      braid::wait_readable(fd, first ? first_timeout : std::nullopt);
    } else {
      throw std::system_error(errno, std::generic_category(), fmt::format("read_frame fd {}", fd));
    }
  }
  return got;
}

// The stream on `fd` ended inside a frame: `got` of its bytes (header included) had
// arrived; `announced` is the header's payload length once the header was complete.
[[noreturn]] void throw_truncated(int fd, std::size_t got, std::optional<std::size_t> announced) {
  if (!announced) {
    throw FrameError(
        fmt::format("truncated frame on fd {}: the stream ended after {} of {} header bytes", fd,
                    got, kFrameHeaderSize));
  }
  throw FrameError(fmt::format(
      "truncated frame on fd {}: its header announced {} payload bytes, the stream ended "
      "after {} of them",
      fd, *announced, got - kFrameHeaderSize));
}

}  // namespace

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("set O_NONBLOCK on fd {}", fd));
  }
}

void write_all(int fd, std::span<const std::byte> bytes, const char* what,
               braid::detail::FdWatcher* watcher) {
  // Constructing the hub ignores SIGPIPE process-wide, so a closed reader is EPIPE here,
  // never the death of the process, and plain write(2) serves pipes and sockets alike.
  // A reader as fast as this writer never lets write(2) fail with EAGAIN: a loop of sends
  // yields to the hub now and then (Hub::cooperate). Only here, before the first byte: a
  // switch later could deliver a kill with half a frame written.
  Hub::current().cooperate();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::byte* p = bytes.data() + done;
    const std::size_t n = bytes.size() - done;
    const ssize_t r = braid::detail::sys::write(fd, p, n);
    if (r >= 0) {
      done += static_cast<std::size_t>(r);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (watcher != nullptr) {
        watcher->wait_writable(std::nullopt, what);
      } else {
        braid::wait_writable(fd);
      }
    } else {
      throw std::system_error(errno, std::generic_category(), fmt::format("{} fd {}", what, fd));
    }
  }
}

std::vector<std::byte> read_frame(int fd, std::optional<Duration> timeout,
                                  std::size_t max_payload) {
  std::byte header[kFrameHeaderSize];
  const std::size_t got = read_exact(fd, header, kFrameHeaderSize, timeout, true);
  if (got == 0) throw EOFError(fmt::format("read_frame fd {}: end of stream", fd));
  if (got < kFrameHeaderSize) throw_truncated(fd, got, std::nullopt);
  const std::size_t n = parse_frame_header(header, max_payload);
  // The payload's buffer doubles as its bytes arrive: the header's length is a claim a
  // peer can make for free, so it never sizes the allocation by itself.
  std::vector<std::byte> payload;
  std::size_t body = 0;
  while (body < n) {
    const std::size_t step = std::min(n - body, std::max(kFrameReadChunk, body));
    payload.resize(body + step);
    const std::size_t r = read_exact(fd, payload.data() + body, step, std::nullopt, false);
    body += r;
    if (r < step) throw_truncated(fd, kFrameHeaderSize + body, n);
  }
  return payload;
}

bool FrameReader::fill(braid::detail::FdWatcher& watcher, std::optional<Duration> timeout,
                       const char* what) {
  const std::span<std::byte> room = buf_.room();
  const std::size_t n = watcher.read_some(room.data(), room.size(), timeout, what);
  buf_.commit(n);
  return n > 0;
}

std::vector<std::byte> FrameReader::read(braid::detail::FdWatcher& watcher, int fd,
                                         std::optional<Duration> timeout, const char* what) {
  const braid::detail::CallDeadline deadline(timeout);  // one limit for the whole frame
  for (;;) {
    if (const auto frame = buf_.front()) {
      std::vector<std::byte> payload(frame->begin(), frame->end());
      buf_.pop();
      return payload;
    }
    if (!fill(watcher, deadline.remaining(), what)) {
      const std::size_t have = buf_.buffered();
      if (have == 0) throw EOFError(fmt::format("{} fd {}: the other end is closed", what, fd));
      throw_truncated(fd, have, buf_.announced());
    }
  }
}

}  // namespace braid::process::detail
