#include <braid/net/detail/stream_socket.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <braid/net/detail/op_allocator.hpp>

#include "socket_ops.hpp"

#include <braid/runtime/errors.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <span>

namespace braid::net::detail {

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

std::size_t StreamSocket::read_seq(const mutable_buffer* bufs, std::size_t n,
                                   std::optional<Duration> limit, boost::system::error_code& ec) {
  ec.clear();
  if (!handle_.is_open()) {
    ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  if (n == 0) return 0;
  if (!unread_.empty()) {  // left by a read that completed as an interrupt arrived
    std::size_t copied = boost::asio::buffer_copy(std::span<const mutable_buffer>(bufs, n),
                                                  boost::asio::buffer(unread_));
    unread_.erase(0, copied);
    return copied;
  }
  // Asio's reactor reads speculatively when the last read did not drain the socket, and
  // otherwise queues the read until epoll reports an edge: no read ends in EAGAIN and no
  // epoll_ctl is made per wait (a plain async_wait re-arms with EPOLL_CTL_MOD each time).
  std::size_t got = 0;
  std::span<const mutable_buffer> seq(bufs, n);
  auto& d = handle_.descriptor();
  try {
    ec = braid::detail::await_op(
        [&d, seq](auto handler) {
          d.async_read_some(seq,
                            boost::asio::bind_allocator(OpAllocator<void>(), std::move(handler)));
        },
        limit, braid::detail::WaitInfo{"recv", d.native_handle()}, &got);
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
  iovec iov[kMaxBuffers];
  std::size_t count = std::min(n, kMaxBuffers);
  for (std::size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<void*>(bufs[i].data());
    iov[i].iov_len = bufs[i].size();
  }
  if (count == 0) return 0;
  // Speculative: the send buffer almost always has room, so try first, wait on EAGAIN.
  for (;;) {
    const long r = send_iov(handle_.fd(), iov, count, nullptr, ec);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (ec) return 0;
    ec = handle_.wait(true, deadline.remaining(), braid::detail::WaitInfo{"send", handle_.fd()});
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

}  // namespace braid::net::detail
