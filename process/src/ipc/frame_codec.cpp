// The frame format without I/O (detail/frame_codec.hpp): headers, the receive buffer's
// growth policy and the payload streambufs. No hub, no descriptor: the fuzz targets in
// tests/fuzz compile this file on its own.
#include <braid/process/detail/frame_codec.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace braid::process::detail {
namespace {

std::string hex_bytes(const std::byte* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += fmt::format("{:02x}", static_cast<unsigned>(p[i]));
    if (i + 1 < n) s += ' ';
  }
  return s;
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

// ---- The receive buffer

void make_read_room(std::vector<std::byte>& buf, std::size_t& begin, std::size_t& end,
                    std::size_t missing) {
  if (begin == end) begin = end = 0;
  const std::size_t have = end - begin;
  // One chunk of read-ahead; while a frame is arriving, as much again as has arrived
  // (capped by what it still lacks). The header's length alone never sizes the buffer:
  // a peer must send n bytes to make us hold about 2n.
  const std::size_t want = std::max(kFrameReadChunk, std::min(missing, have));
  if (buf.size() - end >= want) return;  // the small-frame path: nothing to do
  if (begin > 0) {
    std::memmove(buf.data(), buf.data() + begin, have);
    begin = 0;
    end = have;
  }
  if (buf.size() - end < want) buf.resize(end + want);
}

void trim_read_buffer(std::vector<std::byte>& buf, std::size_t& begin, std::size_t& end) {
  const std::size_t have = end - begin;
  if (have == 0) {
    begin = end = 0;
    if (buf.size() > kKeptReadBuffer) std::vector<std::byte>().swap(buf);  // after a big frame
    return;
  }
  // Bytes of the next frames stay, but not in a buffer sized for one consumed long ago.
  if (buf.size() <= kKeptReadBuffer || have > buf.size() / 4) return;
  std::vector<std::byte> smaller(std::max(kFrameReadChunk, 2 * have));
  std::memcpy(smaller.data(), buf.data() + begin, have);
  buf.swap(smaller);
  begin = 0;
  end = have;
}

std::optional<std::size_t> FrameBuffer::announced() const {
  if (end_ - begin_ < kFrameHeaderSize) return std::nullopt;
  return parse_frame_header(buf_.data() + begin_, max_);
}

std::span<std::byte> FrameBuffer::room() {
  std::size_t missing = 0;
  if (const auto n = announced(); n && kFrameHeaderSize + *n > end_ - begin_) {
    missing = kFrameHeaderSize + *n - (end_ - begin_);
  }
  make_read_room(buf_, begin_, end_, missing);
  return {buf_.data() + end_, buf_.size() - end_};
}

std::optional<std::span<const std::byte>> FrameBuffer::front() const {
  const auto n = announced();
  if (!n || end_ - begin_ - kFrameHeaderSize < *n) return std::nullopt;
  return std::span<const std::byte>(buf_.data() + begin_ + kFrameHeaderSize, *n);
}

void FrameBuffer::pop() {
  begin_ += kFrameHeaderSize + announced().value();
  trim_read_buffer(buf_, begin_, end_);
}

// ---- Payload streambufs

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

}  // namespace braid::process::detail
