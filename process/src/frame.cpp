#include <braid/process/detail/frame.hpp>

#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/errors.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <system_error>

namespace braid::process::detail {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

std::string hex_bytes(const std::byte* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += fmt::format("{:02x}", static_cast<unsigned>(p[i]));
    if (i + 1 < n) s += ' ';
  }
  return s;
}

// Reads exactly `n` bytes into `out`, parking while none are available. Returns the
// count read before EOF (== n unless the stream ended). `first_timeout` applies only
// while nothing has been read yet.
std::size_t read_exact(int fd, std::byte* out, std::size_t n, std::optional<Duration> first_timeout,
                       bool first) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = braid::detail::read_retry(fd, out + got, n - got);
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

}  // namespace

void put_frame_header(std::byte* out, std::size_t payload_size) {
  if (payload_size > std::numeric_limits<std::uint32_t>::max()) {
    throw FrameError(fmt::format("frame payload of {} bytes does not fit the 32-bit length field",
                                 payload_size));
  }
  const auto n = static_cast<std::uint32_t>(payload_size);
  out[0] = std::byte{kFrameMagic0};
  out[1] = std::byte{kFrameMagic1};
  out[2] = std::byte{kFrameVersion};
  out[3] = std::byte{0};
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
}

std::size_t parse_frame_header(const std::byte* in, std::size_t max_payload) {
  if (in[0] != std::byte{kFrameMagic0} || in[1] != std::byte{kFrameMagic1}) {
    throw FrameError(fmt::format("malformed frame: bad magic (header bytes {})",
                                 hex_bytes(in, kFrameHeaderSize)));
  }
  if (in[2] != std::byte{kFrameVersion}) {
    throw FrameError(
        fmt::format("malformed frame: unsupported version {}", static_cast<unsigned>(in[2])));
  }
  if (in[3] != std::byte{0}) {
    throw FrameError(
        fmt::format("malformed frame: unknown flags 0x{:02x}", static_cast<unsigned>(in[3])));
  }
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(in[4 + i]) << (8 * i);
  if (n > max_payload) {
    throw FrameError(
        fmt::format("oversized frame: {} bytes announced, the limit is {}", n, max_payload));
  }
  return n;
}

std::vector<std::byte> encode_frame(std::span<const std::byte> payload) {
  std::vector<std::byte> frame(kFrameHeaderSize + payload.size());
  put_frame_header(frame.data(), payload.size());
  if (!payload.empty())
    std::memcpy(frame.data() + kFrameHeaderSize, payload.data(), payload.size());
  return frame;
}

std::streamsize ByteSink::xsputn(const char* s, std::streamsize n) {
  const auto* p = reinterpret_cast<const std::byte*>(s);
  out_.insert(out_.end(), p, p + n);
  return n;
}

ByteSink::int_type ByteSink::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  out_.push_back(static_cast<std::byte>(ch));
  return ch;
}

ByteSource::ByteSource(std::span<const std::byte> in) {
  // std::streambuf wants char*; the buffer is only read through it.
  char* p = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
  setg(p, p, p + in.size());
}

void throw_decode_error(const char* type, const std::string& why) {
  throw FrameError(
      fmt::format("malformed frame payload: cannot decode a value of type {}: {}", type, why));
}

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
  (void)Hub::current();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::byte* p = bytes.data() + done;
    const std::size_t n = bytes.size() - done;
    const ssize_t r = ::write(fd, p, n);
    if (r >= 0) {
      done += static_cast<std::size_t>(r);
    } else if (errno == EINTR) {
      continue;
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
  if (got < kFrameHeaderSize) {
    throw FrameError(
        fmt::format("truncated frame on fd {}: the stream ended after {} of {} "
                    "header bytes",
                    fd, got, kFrameHeaderSize));
  }
  const std::size_t n = parse_frame_header(header, max_payload);
  std::vector<std::byte> payload(n);
  const std::size_t body = read_exact(fd, payload.data(), n, std::nullopt, false);
  if (body < n) {
    throw FrameError(fmt::format(
        "truncated frame on fd {}: the stream ended after {} of {} payload bytes", fd, body, n));
  }
  return payload;
}

bool FrameReader::has_frame() const {
  if (end_ - begin_ < kFrameHeaderSize) return false;
  const std::size_t n = parse_frame_header(buf_.data() + begin_, max_);
  return end_ - begin_ >= kFrameHeaderSize + n;
}

bool FrameReader::fill(braid::detail::FdWatcher& watcher, std::optional<Duration> timeout,
                       const char* what) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0 && buf_.size() - end_ < kReadChunk) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < kReadChunk) buf_.resize(end_ + kReadChunk);
  const std::size_t n = watcher.read_some(buf_.data() + end_, buf_.size() - end_, timeout, what);
  end_ += n;
  return n > 0;
}

std::vector<std::byte> FrameReader::read(braid::detail::FdWatcher& watcher, int fd,
                                         std::optional<Duration> timeout, const char* what) {
  const auto until =
      timeout ? std::optional(std::chrono::steady_clock::now() + *timeout) : std::nullopt;
  auto remaining = [&]() -> std::optional<Duration> {
    if (!until) return std::nullopt;
    return std::max(Duration::zero(), *until - std::chrono::steady_clock::now());
  };
  std::size_t need = kFrameHeaderSize;
  for (;;) {
    const std::size_t have = end_ - begin_;
    if (have >= kFrameHeaderSize) {
      need = kFrameHeaderSize + parse_frame_header(buf_.data() + begin_, max_);
      if (have >= need) break;
      // Large frames: make room for all of it at once instead of growing chunk by chunk.
      if (buf_.size() - begin_ < need) buf_.resize(begin_ + need);
    }
    if (!fill(watcher, remaining(), what)) {
      if (have == 0) {
        throw EOFError(fmt::format("{} fd {}: the other end is closed", what, fd));
      }
      throw FrameError(fmt::format(
          "truncated frame on fd {}: the stream ended after {} of {} bytes", fd, have, need));
    }
  }
  const std::byte* p = buf_.data() + begin_ + kFrameHeaderSize;
  std::vector<std::byte> payload(p, p + (need - kFrameHeaderSize));
  begin_ += need;
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (buf_.size() > 16 * kReadChunk) std::vector<std::byte>().swap(buf_);  // after a big frame
  }
  return payload;
}

}  // namespace braid::process::detail
