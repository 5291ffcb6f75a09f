#include <braid/process/connection.hpp>

#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace braid::process {

Connection::Connection(int fd, bool readable, bool writable)
    : fd_(fd),
      readable_(readable),
      writable_(writable),
      send_lock_(std::make_unique<braid::Lock>()),
      recv_lock_(std::make_unique<braid::Lock>()) {
  detail::set_nonblocking(fd);
  watcher_ = std::make_unique<braid::detail::FdWatcher>(fd);
}

Connection::~Connection() { close(); }

Connection::Connection(Connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      readable_(std::exchange(other.readable_, false)),
      writable_(std::exchange(other.writable_, false)),
      max_frame_(other.max_frame_),
      reader_(std::move(other.reader_)),
      watcher_(std::move(other.watcher_)),
      send_lock_(std::move(other.send_lock_)),
      recv_lock_(std::move(other.recv_lock_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    readable_ = std::exchange(other.readable_, false);
    writable_ = std::exchange(other.writable_, false);
    max_frame_ = other.max_frame_;
    reader_ = std::move(other.reader_);
    watcher_ = std::move(other.watcher_);
    send_lock_ = std::move(other.send_lock_);
    recv_lock_ = std::move(other.recv_lock_);
  }
  return *this;
}

// The watcher is released, not destroyed: a coroutine parked in it wakes up inside it.
void Connection::close() noexcept {
  if (watcher_) watcher_->release();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  readable_ = writable_ = false;
}

void Connection::check_open(bool for_read) const {
  if (fd_ < 0) throw std::logic_error("connection is closed");
  if (for_read && !readable_) throw std::logic_error("connection is write-only");
  if (!for_read && !writable_) throw std::logic_error("connection is read-only");
}

void Connection::send_frame(const std::vector<std::byte>& frame) {
  check_open(false);
  const std::size_t payload = frame.size() - detail::kFrameHeaderSize;
  if (payload > max_frame_) {
    throw FrameError(fmt::format("send on fd {}: a frame of {} bytes exceeds the limit of {}", fd_,
                                 payload, max_frame_));
  }
  std::lock_guard lock(*send_lock_);
  detail::write_all(fd_, frame, "send", watcher_.get());
}

void Connection::send_bytes(std::span<const std::byte> b) {
  check_open(false);
  send_frame(detail::encode_frame(b));
}

std::vector<std::byte> Connection::recv_payload(const char* what) {
  check_open(true);
  std::lock_guard lock(*recv_lock_);
  try {
    return reader_.read(*watcher_, fd_, std::nullopt, what);
  } catch (const std::system_error& e) {
    if (e.code().value() == ECONNRESET) {
      throw EOFError(fmt::format("{} fd {}: the other end reset the connection", what, fd_));
    }
    throw;
  }
}

std::vector<std::byte> Connection::recv_bytes() { return recv_payload("recv_bytes"); }

bool Connection::poll(std::optional<Duration> timeout) {
  check_open(true);
  if (reader_.has_frame()) return true;
  pollfd p{fd_, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  if (r > 0) return true;
  if (timeout && *timeout <= Duration::zero()) return false;
  try {
    watcher_->wait_readable(timeout, "poll");
    return true;
  } catch (const TimeoutError& e) {
    if (e.source() != nullptr) throw;  // an enclosing braid::Timeout, not ours
    return false;
  }
}

std::pair<Connection, Connection> Pipe(bool duplex) {
  int fds[2];
  if (duplex) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
      throw std::system_error(errno, std::generic_category(), "Pipe: socketpair");
    }
    return {Connection(fds[0], true, true), Connection(fds[1], true, true)};
  }
  if (::pipe2(fds, O_CLOEXEC) < 0) {
    throw std::system_error(errno, std::generic_category(), "Pipe: pipe2");
  }
  return {Connection(fds[0], true, false), Connection(fds[1], false, true)};
}

}  // namespace braid::process
