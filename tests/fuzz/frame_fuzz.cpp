// libFuzzer target for the IPC frame decoder (DESIGN.md: "the IPC frame decoder is
// fuzzed"): a peer's byte stream goes through FrameBuffer (header parsing, the bounded
// receive buffer: frame_stream.hpp) and each frame's payload through decode_value, the
// checked cereal archive Connection::recv uses, as several types.
//
// Allowed outcomes: a value, or FrameError. Anything else -- another exception, a crash,
// a sanitizer report, a buffer larger than the bytes that arrived -- is a finding. A
// payload that decodes as a type with one encoding per value must re-encode to the very
// same bytes, and every frame's header must be the one put_frame_header writes.
#include "frame_stream.hpp"

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace {

namespace fr = braid::process::detail;
constexpr const char* kTarget = "frame_fuzz";

// Decodes `payload` as T; when `canonical`, checks that it re-encodes to the same bytes.
template <class T>
void try_decode(std::span<const std::byte> payload, bool canonical) {
  T value;
  try {
    value = fr::decode_value<T>(payload);
  } catch (const braid::process::FrameError& e) {
    if (!braid_fuzz::starts_with(e.what(), "malformed frame payload: "))
      braid_fuzz::fail(kTarget, "decode error with an unexpected message", e.what());
    return;
  }
  if (!canonical) return;
  std::vector<std::byte> again;
  fr::serialize_into(again, value);
  if (again.size() != payload.size() ||
      !std::equal(again.begin(), again.end(), payload.begin(), payload.end())) {
    braid_fuzz::fail(kTarget, "decoded value re-encodes differently", typeid(T).name());
  }
}

void check_payload(std::span<const std::byte> payload) {
  // The header in front of the payload is exactly what the writer side produces.
  std::byte header[fr::kFrameHeaderSize];
  fr::put_frame_header(header, payload.size());
  if (std::memcmp(header, payload.data() - fr::kFrameHeaderSize, sizeof header) != 0)
    braid_fuzz::fail(kTarget, "accepted a header put_frame_header does not write", "");

  try_decode<std::int32_t>(payload, true);
  try_decode<std::string>(payload, true);
  try_decode<std::vector<std::uint64_t>>(payload, true);
  try_decode<std::vector<bool>>(payload, true);
  try_decode<std::optional<std::string>>(payload, true);
  try_decode<std::variant<std::int32_t, std::string, double>>(payload, true);
  try_decode<std::tuple<bool, std::uint16_t, std::vector<std::string>>>(payload, true);
  // Duplicate or unordered keys decode to a map that encodes differently: no round trip.
  try_decode<std::map<std::string, std::int32_t>>(payload, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  braid_fuzz::read_frames(kTarget, data, size, check_payload);
  return 0;
}
