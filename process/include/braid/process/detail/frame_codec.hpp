// The IPC frame format without the I/O: headers, payload encoding and decoding, and the
// receive buffer of an incremental reader. Everything here is pure computation on bytes
// (no hub, no descriptor), so the fuzz targets in tests/fuzz compile it on its own;
// detail/frame.hpp adds the reads and writes.
//
// Wire format: every message is one frame, an 8-byte header followed by the payload.
//
//   offset  size  field
//   0       2     magic 0xB5 0x1D ("braid"); anything else is a malformed frame
//   2       1     version, 1
//   3       1     flags, 0 (reserved; a non-zero value is a malformed frame)
//   4       4     payload length in bytes, unsigned, little-endian
//   8       n     payload
//
// A typed value's payload is exactly its cereal BinaryOutputArchive encoding (native
// endianness: both ends run the same binary on the same machine, since processes fork).
// Raw bytes (Connection::send_bytes) are the payload as is. A reader rejects, with
// FrameError, a header with a bad magic, version or flags, a length above the reader's
// limit (1 GiB by default), a stream that ends inside a frame, and a payload that does not
// decode to the requested type or leaves bytes over. EOF exactly between frames is the
// orderly end of the stream: EOFError.
//
// What a peer can make a reader allocate: the length field is a claim, not a commitment.
// A reader's buffer grows with the bytes that have actually arrived (FrameBuffer), so a
// header announcing 1 GiB followed by nothing costs one read chunk; a frame that really
// is big costs at most about twice its size while it arrives, and is given back once it
// has been consumed. Decoding never allocates more than the payload's size can justify
// (CheckedInputArchive).
#pragma once

#include <cereal/archives/binary.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace braid::process {

/// A frame on a pipe or socket was malformed (bad header, undecodable payload), truncated
/// (the stream ended inside it) or larger than the receiver's limit. The stream is out of
/// step after this error; close it.
struct FrameError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace braid::process

namespace braid::process::detail {

inline constexpr std::size_t kFrameHeaderSize = 8;
inline constexpr std::uint8_t kFrameMagic0 = 0xB5;
inline constexpr std::uint8_t kFrameMagic1 = 0x1D;
inline constexpr std::uint8_t kFrameVersion = 1;
/// Largest payload accepted by default (1 GiB); the wire format allows up to 4 GiB - 1.
inline constexpr std::size_t kDefaultMaxFrame = std::size_t{1} << 30;
/// What a reader asks the descriptor for when it knows of no big frame: small frames
/// then cost one read(2) for many.
inline constexpr std::size_t kFrameReadChunk = 64 * 1024;
/// A receive buffer larger than this is given back (or cut down) once the frames that
/// needed it have been consumed.
inline constexpr std::size_t kKeptReadBuffer = 16 * kFrameReadChunk;

/// Writes the 8-byte header for a payload of `payload_size` bytes into `out`.
/// FrameError when the size does not fit the 32-bit length field.
void put_frame_header(std::byte* out, std::size_t payload_size);
/// Parses an 8-byte header and returns the payload length. FrameError for a bad magic,
/// version or flags, or a length above `max_payload`.
std::size_t parse_frame_header(const std::byte* in, std::size_t max_payload);

/// Header + `payload` as one buffer, ready for write_frame.
std::vector<std::byte> encode_frame(std::span<const std::byte> payload);

// ---- The receive buffer of an incremental reader: bytes read but not consumed are
// [begin, end) of `buf`. Free functions over the three fields, so that readers keeping
// them as separate members (the Pool's reply reader) share the policy with FrameBuffer.

/// Makes room after `end` for the next read: at least kFrameReadChunk bytes, and, while a
/// frame still lacks `missing` bytes, up to as many more as are buffered already (the
/// buffer doubles with each fill, never jumping to what a header announces). Moves the
/// unconsumed bytes to the front first when that makes enough room.
void make_read_room(std::vector<std::byte>& buf, std::size_t& begin, std::size_t& end,
                    std::size_t missing);
/// After frames were consumed: resets an empty buffer's indices, and gives back a buffer
/// above kKeptReadBuffer that is now mostly unused (the unconsumed bytes move to a new
/// buffer of about twice their size).
void trim_read_buffer(std::vector<std::byte>& buf, std::size_t& begin, std::size_t& end);

/// The buffer of an incremental frame reader: read into room(), commit(), then take the
/// complete frames with front()/pop(). Used by FrameReader (detail/frame.hpp).
class FrameBuffer {
 public:
  explicit FrameBuffer(std::size_t max_payload = kDefaultMaxFrame) : max_(max_payload) {}

  /// Where the next read may write (never empty); see make_read_room for its size.
  std::span<std::byte> room();
  /// `n` bytes were written at the start of room().
  void commit(std::size_t n) noexcept { end_ += n; }
  /// The payload of the complete frame at the front, or nullopt while bytes are missing.
  /// FrameError for a bad header. Valid until the next room() or pop().
  std::optional<std::span<const std::byte>> front() const;
  /// Consumes the front frame (front() returned it) and trims the buffer.
  void pop();

  /// Unconsumed bytes.
  std::size_t buffered() const noexcept { return end_ - begin_; }
  /// The payload length announced by a buffered header, nullopt while fewer than 8 bytes
  /// are buffered. FrameError for a bad header.
  std::optional<std::size_t> announced() const;
  /// Bytes allocated for the buffer (what a peer has made this reader hold).
  std::size_t capacity() const noexcept { return buf_.size(); }
  std::size_t max_payload() const noexcept { return max_; }
  void set_max_payload(std::size_t n) noexcept { max_ = n; }

 private:
  std::vector<std::byte> buf_;  // read but not yet consumed: [begin_, end_)
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t max_;  // largest payload accepted
};

// ---- Payload encoding

/// A std::streambuf that appends to a byte vector (cereal writes through sputn).
class ByteSink : public std::streambuf {
 public:
  explicit ByteSink(std::vector<std::byte>& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int_type overflow(int_type ch) override;

 private:
  std::vector<std::byte>& out_;
};

/// A std::streambuf reading from a byte span (cereal reads through sgetn).
class ByteSource : public std::streambuf {
 public:
  explicit ByteSource(std::span<const std::byte> in);
  /// Bytes not read yet.
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(egptr() - gptr()); }
};

/// The archive every braid payload is decoded with: cereal's binary format, read from a
/// ByteSource, with two checks cereal's own BinaryInputArchive lacks, so that a malformed
/// frame is a FrameError and never undefined behaviour or a huge allocation:
///   * a `bool` must be 0 or 1 (any other byte would be an invalid bool);
///   * a container or string size must not exceed the bytes left in the payload (every
///     element takes at least one byte -- true for everything but empty classes).
/// Encoding uses cereal::BinaryOutputArchive unchanged: the bytes are the same.
class CheckedInputArchive
    : public cereal::InputArchive<CheckedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit CheckedInputArchive(ByteSource& src)
      : cereal::InputArchive<CheckedInputArchive, cereal::AllowEmptyClassElision>(this),
        src_(src) {}
  /// Reads exactly `size` bytes; cereal::Exception when the payload is too short.
  void loadBinary(void* data, std::streamsize size) {
    if (src_.sgetn(static_cast<char*>(data), size) != size) {
      throw cereal::Exception("payload too short: " + std::to_string(size) +
                              " more bytes expected");
    }
  }
  std::size_t remaining() const noexcept { return src_.remaining(); }

 private:
  ByteSource& src_;
};

/// Appends the cereal binary encoding of `v` to `out`.
template <class T>
void serialize_into(std::vector<std::byte>& out, const T& v) {
  ByteSink sink(out);
  std::ostream os(&sink);
  cereal::BinaryOutputArchive ar(os);
  ar(v);
}

/// One frame (header + cereal payload) carrying `v`, built without an extra copy.
template <class T>
std::vector<std::byte> encode_value_frame(const T& v) {
  std::vector<std::byte> frame(kFrameHeaderSize);
  serialize_into(frame, v);
  put_frame_header(frame.data(), frame.size() - kFrameHeaderSize);
  return frame;
}

/// Throws FrameError describing a payload that failed to decode as `type`.
[[noreturn]] void throw_decode_error(const char* type, const std::string& why);

/// Decodes a payload produced by serialize_into<T>. FrameError when the bytes are not a
/// valid encoding of T (too short, absurd sizes, or bytes left over).
template <class T>
T decode_value(std::span<const std::byte> payload) {
  ByteSource src(payload);
  T value{};
  try {
    CheckedInputArchive ar(src);
    ar(value);
  } catch (const cereal::Exception& e) {
    throw_decode_error(typeid(T).name(), e.what());
  } catch (const std::length_error& e) {
    throw_decode_error(typeid(T).name(), e.what());
  } catch (const std::bad_alloc&) {
    throw_decode_error(typeid(T).name(), "a size field asks for more memory than exists");
  }
  if (src.remaining() != 0) {
    throw_decode_error(typeid(T).name(),
                       std::to_string(src.remaining()) + " bytes left over (wrong type?)");
  }
  return value;
}

}  // namespace braid::process::detail

namespace cereal {
// The load functions of braid::process::detail::CheckedInputArchive (cereal finds them
// in its own namespace, as for its archives).
template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>
CEREAL_LOAD_FUNCTION_NAME(braid::process::detail::CheckedInputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}
inline void CEREAL_LOAD_FUNCTION_NAME(braid::process::detail::CheckedInputArchive& ar, bool& b) {
  unsigned char c = 0;
  ar.loadBinary(&c, 1);
  if (c > 1) throw Exception("invalid bool byte " + std::to_string(c));
  b = c != 0;
}
template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(braid::process::detail::CheckedInputArchive& ar,
                                           NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(braid::process::detail::CheckedInputArchive& ar,
                                           SizeTag<T>& t) {
  ar(t.size);
  if (static_cast<std::uint64_t>(t.size) > ar.remaining()) {
    throw Exception("a size of " + std::to_string(t.size) + " exceeds the " +
                    std::to_string(ar.remaining()) + " bytes left");
  }
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(braid::process::detail::CheckedInputArchive& ar,
                                      BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::streamsize>(bd.size));
}
}  // namespace cereal

CEREAL_REGISTER_ARCHIVE(braid::process::detail::CheckedInputArchive)
// Only the input-to-output direction: BinaryOutputArchive already maps back to
// cereal's BinaryInputArchive.
namespace cereal::traits::detail {
template <>
struct get_output_from_input<braid::process::detail::CheckedInputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail
