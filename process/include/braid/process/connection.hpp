// braid::process::Pipe and Connection: a two-ended channel between processes (Python's
// multiprocessing.Pipe). Values travel as length-prefixed frames carrying cereal binary
// archives (see detail/frame.hpp for the wire format).
//
// What may switch: send, send_bytes, recv, recv_bytes and poll (with a non-zero timeout)
// park the calling coroutine while the pipe is full or empty; in main they run the hub.
#pragma once

#include <braid/coro/semaphore.hpp>
#include <braid/process/detail/frame.hpp>
#include <braid/runtime/hub.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace braid::process {

/// One end of a Pipe. Move-only; closes its descriptor when destroyed. Create the Pipe
/// before starting the Process that uses the other end: the child inherits both ends, and
/// each process should close() the end it does not use, or the reader never sees EOF.
///
/// Sends and receives in one process may come from several coroutines: each direction is
/// serialised by an in-process lock, so frames never interleave. The descriptor is
/// registered with the hub at the first wait and stays registered until close(): close a
/// connection in the thread that waited on it.
///
/// @par Example
/// @code
///   auto [parent_end, child_end] = braid::process::Pipe();
///   braid::process::Process p([&] { child_end.send(std::string("hello")); });
///   p.start();
///   child_end.close();
///   std::string s = parent_end.recv<std::string>();   // parks until it arrives
/// @endcode
class Connection {
 public:
  /// A closed connection.
  Connection() = default;
  /// Adopts `fd` (made non-blocking). `readable`/`writable` say which calls it allows.
  Connection(int fd, bool readable, bool writable);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /// Sends `v` (anything cereal can serialise: arithmetic types, strings, standard
  /// containers, optional, tuple, variant, structs with a serialize() member). Parks while
  /// the pipe is full. std::system_error(EPIPE) when the reader is gone; FrameError when
  /// the encoding exceeds the frame limit; std::logic_error on a closed or read-only end.
  template <class T>
  void send(const T& v) {
    send_frame(detail::encode_value_frame(v));
  }
  /// Receives the next value, which must have been sent as a T. Parks until it arrives.
  /// @throws EOFError    the other end is closed (in every process) and nothing is left.
  /// @throws FrameError  the frame is malformed, truncated, too large, or not a T.
  template <class T>
  T recv() {
    const std::vector<std::byte> payload = recv_payload("recv");
    return detail::decode_value<T>(payload);
  }
  /// Sends raw bytes as one frame; recv_bytes() on the other end returns them.
  void send_bytes(std::span<const std::byte> b);
  /// Receives one frame's bytes. Errors as recv().
  std::vector<std::byte> recv_bytes();
  /// True when something can be received without parking for long (data or EOF): at once
  /// for a zero timeout, parking up to `timeout` otherwise (nullopt: without limit).
  bool poll(std::optional<Duration> timeout = Duration::zero());
  /// Closes the descriptor (in this process only). A coroutine of this process parked in
  /// recv, send or poll on it wakes with std::system_error(EBADF). Idempotent, never
  /// throws.
  void close() noexcept;
  /// The descriptor, -1 once closed.
  int fileno() const noexcept { return fd_; }
  bool closed() const noexcept { return fd_ < 0; }
  bool readable() const noexcept { return readable_; }
  bool writable() const noexcept { return writable_; }
  /// Largest frame payload sent or accepted (default 1 GiB); larger ones are FrameError.
  void set_max_frame(std::size_t bytes) noexcept {
    max_frame_ = bytes;
    reader_.set_max_payload(bytes);
  }

 private:
  void check_open(bool for_read) const;
  void send_frame(const std::vector<std::byte>& frame);
  std::vector<std::byte> recv_payload(const char* what);

  int fd_ = -1;
  bool readable_ = false;
  bool writable_ = false;
  std::size_t max_frame_ = detail::kDefaultMaxFrame;
  detail::FrameReader reader_;                         // keeps a partly read frame between calls
  std::unique_ptr<braid::detail::FdWatcher> watcher_;  // fd_'s registration with the hub
  std::unique_ptr<braid::Lock> send_lock_;             // one sender at a time in this process
  std::unique_ptr<braid::Lock> recv_lock_;             // one receiver at a time in this process
};

/// A pair of connected Connections. duplex (default): a Unix socketpair, both ends send
/// and receive. !duplex: a pipe; the first end only receives, the second only sends.
/// Both descriptors are close-on-exec and non-blocking. std::system_error on failure.
std::pair<Connection, Connection> Pipe(bool duplex = true);

}  // namespace braid::process
