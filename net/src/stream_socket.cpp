#include <braid/net/stream_socket.hpp>

#include "socket_ops.hpp"

#include <braid/runtime/errors.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <span>

namespace braid::net {

using namespace detail;  // the socket layer: SockAddr, SocketHandle, socket_ops

namespace {
using boost::asio::const_buffer;
using boost::asio::mutable_buffer;
}  // namespace

StreamSocket::StreamSocket(int fd, const SockAddr& peer, const char* what)
    : handle_(fd, what), peer_(peer) {}

std::string StreamSocket::describe(const char* op) const {
  return fmt::format("{} {}", op, peer_.to_string());
}

void StreamSocket::require_open(const char* op) const {
  if (!handle_.is_open()) {
    throw_error(boost::asio::error::bad_descriptor, describe(op) + " (socket is closed)");
  }
}

StreamSocket::executor_type StreamSocket::get_executor() {
  return Hub::current().context().get_executor();
}

std::size_t StreamSocket::read_into(std::span<char> buf, std::optional<Duration> limit,
                                    boost::system::error_code& ec) {
  mutable_buffer b(buf.data(), buf.size());
  return read_seq(&b, 1, limit, ec);
}

namespace {

// Starts one read of `seq` and parks until it completes. A single buffer is read with
// read(2), a sequence with readv(2) (whose iovec array takes 1 KiB of the coroutine's
// stack: the single-buffer path keeps recv() within the first stack page). The operation
// takes Asio's default allocator: a coroutine resumed by its previous read's completion
// handler starts the next read inside that handler, where Asio recycles the memory the
// completed operation just gave back, so the steady state does not malloc.
template <class Buffers>
boost::system::error_code await_read(SocketHandle::Descriptor& d, const Buffers& seq,
                                     std::optional<Duration> limit, std::size_t& got) {
  return braid::detail::await_op(
      [&d, &seq](auto handler) { d.async_read_some(seq, std::move(handler)); }, limit,
      braid::detail::WaitInfo{"recv", d.native_handle()}, &got);
}

}  // namespace

std::size_t StreamSocket::read_seq(const mutable_buffer* bufs, std::size_t n,
                                   std::optional<Duration> limit, boost::system::error_code& ec) {
  ec.clear();
  if (!handle_.is_open()) {
    ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  if (n == 0) return 0;
  std::span<const mutable_buffer> seq(bufs, n);
  if (!unread_.empty()) {  // left by a read that completed as an interrupt arrived
    std::size_t copied = boost::asio::buffer_copy(seq, boost::asio::buffer(unread_));
    unread_.erase(0, copied);
    return copied;
  }
  // Asio's reactor tries the read at once while epoll has not seen it drained, and
  // otherwise queues it until the next edge, with no epoll_ctl per wait (a plain
  // async_wait re-arms with EPOLL_CTL_MOD each time). Like a hand-written edge-triggered
  // loop, a read that follows a short one usually ends in EAGAIN before it waits: Asio's
  // descriptor reads never mark the socket drained on a short read.
  std::size_t got = 0;
  try {
    ec = n == 1 ? await_read(handle_.descriptor(), bufs[0], limit, got)
                : await_read(handle_.descriptor(), seq, limit, got);
  } catch (...) {
    // A kill or an enclosing Timeout arrived after the read had completed: keep the
    // bytes for the next read instead of losing them.
    if (got > 0) {
      std::string saved(got, '\0');
      boost::asio::buffer_copy(boost::asio::buffer(saved), seq);
      unread_ = std::move(saved);
    }
    throw;
  }
  return got;
}

std::size_t StreamSocket::read_buffers(const mutable_buffer* bufs, std::size_t n,
                                       boost::system::error_code& ec) {
  return read_seq(bufs, n, timeout_, ec);
}

std::size_t StreamSocket::write_from(const const_buffer* bufs, std::size_t n,
                                     const CallDeadline& deadline, boost::system::error_code& ec) {
  ec.clear();
  if (!handle_.is_open()) {
    ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  const std::size_t count = std::min(n, kMaxBuffers);
  if (count == 0) return 0;
  iovec iov[kMaxBuffers];
  for (std::size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<void*>(bufs[i].data());
    iov[i].iov_len = bufs[i].size();
  }
  // Speculative: the send buffer almost always has room, so try first, wait on EAGAIN.
  // One buffer goes out with send(2), several with sendmsg(2). A peer that drains as fast
  // as we write would let that go on forever without a switch: cooperate() first (before
  // the send, so an interrupt it delivers never hides bytes already sent).
  Hub::current().cooperate();
  const int fd = handle_.fd();
  for (;;) {
    const long r = count == 1 ? send_bytes(fd, iov[0].iov_base, iov[0].iov_len, ec)
                              : send_iov(fd, iov, count, nullptr, ec);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (ec) return 0;
    ec = handle_.wait(true, deadline.remaining(), braid::detail::WaitInfo{"send", fd});
    if (ec) return 0;
  }
}

std::size_t StreamSocket::write_buffers(const const_buffer* bufs, std::size_t n,
                                        boost::system::error_code& ec) {
  return write_from(bufs, n, CallDeadline(timeout_), ec);
}

std::size_t StreamSocket::recv(std::span<char> buf) {
  if (buf.empty()) return 0;
  boost::system::error_code ec;
  const std::size_t n = read_into(buf, timeout_, ec);
  if (!ec) return n;
  if (ec == boost::asio::error::eof) return 0;
  if (ec == boost::asio::error::timed_out) throw_timeout(describe("recv from"), timeout_);
  throw_error(ec, describe("recv from"));
}

std::string StreamSocket::recv(std::size_t max) {
  std::string out(max, '\0');
  out.resize(recv(std::span<char>(out)));
  return out;
}

void StreamSocket::recv_exact(std::span<char> buf) {
  const CallDeadline deadline(timeout_);
  std::size_t done = 0;
  while (done < buf.size()) {
    boost::system::error_code ec;
    const std::size_t n = read_into(buf.subspan(done), deadline.remaining(), ec);
    if (ec == boost::asio::error::eof || (!ec && n == 0)) {
      throw EOFError(fmt::format("{}: peer closed the stream after {} of {} bytes",
                                 describe("recv_exact from"), done, buf.size()));
    }
    if (ec == boost::asio::error::timed_out) throw_timeout(describe("recv_exact from"), timeout_);
    if (ec) throw_error(ec, describe("recv_exact from"));
    done += n;
  }
}

std::size_t StreamSocket::send(std::span<const char> buf) {
  if (buf.empty()) {
    require_open("send to");
    return 0;
  }
  boost::system::error_code ec;
  const_buffer b(buf.data(), buf.size());
  const std::size_t n = write_from(&b, 1, CallDeadline(timeout_), ec);
  if (!ec) return n;
  if (ec == boost::asio::error::timed_out) throw_timeout(describe("send to"), timeout_);
  throw_error(ec, describe("send to"));
}

void StreamSocket::sendall(std::string_view data) {
  const CallDeadline deadline(timeout_);
  if (data.empty()) require_open("sendall to");
  while (!data.empty()) {
    boost::system::error_code ec;
    const_buffer b(data.data(), data.size());
    const std::size_t n = write_from(&b, 1, deadline, ec);
    if (ec == boost::asio::error::timed_out) throw_timeout(describe("sendall to"), timeout_);
    if (ec) throw_error(ec, describe("sendall to"));
    data.remove_prefix(n);
  }
}

void StreamSocket::shutdown_write() {
  require_open("shutdown");
  boost::system::error_code ec;
  if (!shutdown_socket(handle_.fd(), SHUT_WR, ec)) throw_error(ec, describe("shutdown"));
}

void StreamSocket::close() noexcept {
  handle_.close();
  unread_.clear();
}

Address StreamSocket::local_address() const {
  require_open("getsockname for");
  SockAddr a;
  boost::system::error_code ec;
  if (!local_name(handle_.fd(), a, ec)) throw_error(ec, describe("getsockname for"));
  return a.to_address();
}

void StreamSocket::connect_to(const SockAddr& to, const CallDeadline& deadline,
                              boost::system::error_code& ec) {
  const int r = start_connect(handle_.fd(), to, ec);
  if (r <= 0) return;
  ec = handle_.wait(true, deadline.remaining(), braid::detail::WaitInfo{"connect", handle_.fd()});
  if (!ec) ec = finish_connect(handle_.fd());
}

}  // namespace braid::net
