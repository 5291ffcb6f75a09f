// braid::process::Pipe and Connection: a two-ended channel between processes (Python's
// multiprocessing.Pipe). Values travel as length-prefixed frames carrying cereal binary
// archives (see detail/frame.hpp for the wire format).
//
// What may switch: send, send_bytes, send_handle, recv, recv_bytes, recv_bytes_into,
// recv_handle and poll (with a non-zero timeout) park the calling coroutine while the pipe
// is full or empty; in main they run the hub.
#pragma once

#include <braid/coro/semaphore.hpp>
#include <braid/process/detail/frame.hpp>
#include <braid/runtime/hub.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace braid::process {

/// recv_bytes_into: the message did not fit the buffer (Python's
/// multiprocessing.BufferTooShort). The message was consumed; it is in message().
class BufferTooShort : public std::runtime_error {
 public:
  BufferTooShort(const std::string& what, std::vector<std::byte> message)
      : std::runtime_error(what), message_(std::move(message)) {}
  /// The whole message that did not fit.
  const std::vector<std::byte>& message() const noexcept { return message_; }

 private:
  std::vector<std::byte> message_;
};

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
  /// Sends `size` bytes of `b` from `offset` (all the rest without `size`), as Python's
  /// send_bytes(buf, offset, size). std::out_of_range, before anything is sent, when
  /// `offset` is past the end ("buffer length < offset") or `offset + size` is
  /// ("buffer length < offset + size").
  void send_bytes(std::span<const std::byte> b, std::size_t offset,
                  std::optional<std::size_t> size = {});
  /// Receives one frame's bytes. Errors as recv().
  std::vector<std::byte> recv_bytes();
  /// Receives one frame's bytes into `buf` from `offset` on and returns their count.
  /// std::out_of_range when `offset` is past the end of `buf` (nothing is received);
  /// BufferTooShort, carrying the message (consumed), when it does not fit. Otherwise
  /// errors as recv().
  std::size_t recv_bytes_into(std::span<std::byte> buf, std::size_t offset = 0);

  /// Sends a duplicate of the open descriptor `fd` (SCM_RIGHTS, as Python's
  /// multiprocessing.reduction.send_handle); `fd` stays the caller's. The other end takes
  /// it with recv_handle(), in order with the other messages. Only a Unix socket carries
  /// descriptors: std::logic_error on a Pipe(false) end (a pipe) or another descriptor
  /// type; std::system_error(EBADF) when `fd` is not open. Other errors as send().
  void send_handle(int fd);
  /// Receives a descriptor sent by send_handle; the caller owns it (close-on-exec).
  /// std::logic_error on a connection that is not a Unix socket, and when the next
  /// message is not a descriptor (left unread, for recv/recv_bytes); a recv/recv_bytes
  /// that meets a descriptor is std::logic_error likewise. std::system_error(EMFILE)
  /// when the kernel dropped a descriptor because this process had no room for it.
  /// Otherwise errors as recv().
  int recv_handle();
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
    buf_.set_max_payload(bytes);
  }

 private:
  // A descriptor received with the bytes up to stream offset `end` (exclusive).
  struct ReceivedFd {
    std::uint64_t end;
    int fd;
  };

  void check_open(bool for_read) const;
  void check_socket(const char* what) const;
  void send_frame(const std::vector<std::byte>& frame);
  std::vector<std::byte> recv_payload(const char* what, bool handle = false);
  // Reads what the descriptor has into buf_ (parks while it has nothing); false at EOF.
  bool fill(const char* what);
  std::size_t recv_some(std::span<std::byte> room, const char* what);
  // The descriptor sent with the front frame of buf_, or -1: it arrived with one of the
  // frame's bytes (the kernel hands it over with the bytes it was sent with).
  int front_fd(std::size_t payload_size) const noexcept;
  void close_received_fds() noexcept;

  int fd_ = -1;
  bool readable_ = false;
  bool writable_ = false;
  bool socket_ = false;        // a Unix socket: reads use recvmsg, to collect descriptors
  bool may_have_data_ = true;  // the last read filled its buffer: read before waiting
  std::size_t max_frame_ = detail::kDefaultMaxFrame;
  detail::FrameBuffer buf_;                            // keeps a partly read frame between calls
  std::uint64_t read_total_ = 0;                       // bytes read from the stream so far
  std::deque<ReceivedFd> fds_;                         // received, not yet taken by recv_handle
  std::unique_ptr<braid::detail::FdWatcher> watcher_;  // fd_'s registration with the hub
  std::unique_ptr<braid::Lock> send_lock_;             // one sender at a time in this process
  std::unique_ptr<braid::Lock> recv_lock_;             // one receiver at a time in this process
};

/// A pair of connected Connections. duplex (default): a Unix socketpair, both ends send
/// and receive. !duplex: a pipe; the first end only receives, the second only sends.
/// Both descriptors are close-on-exec and non-blocking. std::system_error on failure.
std::pair<Connection, Connection> Pipe(bool duplex = true);

}  // namespace braid::process
