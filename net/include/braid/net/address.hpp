// Socket addresses as users see them: a host (numeric address or Unix path) and a port.
#pragma once

#include <cstdint>
#include <string>

namespace braid::net {

/// The address of a socket's peer or of its local end, as Python's `(host, port)`.
/// For Unix sockets `host` is the path ("@name" for the abstract namespace) and
/// `port` is 0.
struct Address {
  std::string host;        // "127.0.0.1", "::1", or a Unix path
  std::uint16_t port = 0;  // 0 for Unix sockets

  /// "127.0.0.1:8080", "[::1]:8080", or the path.
  std::string to_string() const;
  friend bool operator==(const Address&, const Address&) = default;
};

}  // namespace braid::net
