#include <braid/process/connection.hpp>

#include <braid/runtime/detail/fd_watcher.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace braid::process {
namespace {

namespace sys = braid::detail::sys;

// The payload of a send_handle frame. What marks the frame is the descriptor that comes
// with its bytes; the payload only makes a stray one readable in a hex dump.
constexpr char kHandlePayload[] = "braid:fd";

bool is_unix_socket(int fd) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) return false;
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0 && sa.ss_family == AF_UNIX;
}

}  // namespace

Connection::Connection(int fd, bool readable, bool writable)
    : fd_(fd),
      readable_(readable),
      writable_(writable),
      socket_(is_unix_socket(fd)),
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
      socket_(std::exchange(other.socket_, false)),
      may_have_data_(other.may_have_data_),
      max_frame_(other.max_frame_),
      buf_(std::move(other.buf_)),
      read_total_(other.read_total_),
      fds_(std::move(other.fds_)),
      watcher_(std::move(other.watcher_)),
      send_lock_(std::move(other.send_lock_)),
      recv_lock_(std::move(other.recv_lock_)) {
  other.fds_.clear();
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    readable_ = std::exchange(other.readable_, false);
    writable_ = std::exchange(other.writable_, false);
    socket_ = std::exchange(other.socket_, false);
    may_have_data_ = other.may_have_data_;
    max_frame_ = other.max_frame_;
    buf_ = std::move(other.buf_);
    read_total_ = other.read_total_;
    fds_ = std::move(other.fds_);
    other.fds_.clear();
    watcher_ = std::move(other.watcher_);
    send_lock_ = std::move(other.send_lock_);
    recv_lock_ = std::move(other.recv_lock_);
  }
  return *this;
}

void Connection::close_received_fds() noexcept {
  for (const ReceivedFd& r : fds_) ::close(r.fd);
  fds_.clear();
}

// The watcher is released, not destroyed: a coroutine parked in it wakes up inside it.
void Connection::close() noexcept {
  if (watcher_) watcher_->release();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  readable_ = writable_ = false;
  close_received_fds();  // descriptors nobody took with recv_handle
}

void Connection::check_open(bool for_read) const {
  if (fd_ < 0) throw std::logic_error("connection is closed");
  if (for_read && !readable_) throw std::logic_error("connection is write-only");
  if (!for_read && !writable_) throw std::logic_error("connection is read-only");
}

void Connection::check_socket(const char* what) const {
  if (!socket_) {
    throw std::logic_error(
        fmt::format("{} fd {}: descriptors travel only over a Unix socket (a duplex Pipe()); this "
                    "connection is a pipe or another kind of descriptor",
                    what, fd_));
  }
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

void Connection::send_bytes(std::span<const std::byte> b, std::size_t offset,
                            std::optional<std::size_t> size) {
  if (offset > b.size()) {
    throw std::out_of_range(fmt::format(
        "send_bytes: buffer length < offset (offset {}, buffer of {} bytes)", offset, b.size()));
  }
  if (size && *size > b.size() - offset) {
    throw std::out_of_range(
        fmt::format("send_bytes: buffer length < offset + size (offset {}, size {}, buffer of "
                    "{} bytes)",
                    offset, *size, b.size()));
  }
  send_bytes(b.subspan(offset, size.value_or(b.size() - offset)));
}

void Connection::send_handle(int fd) {
  check_open(false);
  check_socket("send_handle");
  if (::fcntl(fd, F_GETFD) < 0) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("send_handle: fd {} is not an open descriptor", fd));
  }
  const std::vector<std::byte> frame = detail::encode_frame(
      {reinterpret_cast<const std::byte*>(kHandlePayload), sizeof kHandlePayload - 1});
  std::lock_guard lock(*send_lock_);
  Hub::current().cooperate();  // before the first byte, as write_all does
  // The descriptor rides on the frame's first bytes; the kernel hands it to the reader
  // with them, so the reader knows which frame it belongs to.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<std::byte*>(frame.data()), frame.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  for (;;) {
    const ssize_t r = sys::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (r >= 0) {
      // The rest of a frame cut short by a full socket follows without the descriptor.
      const auto rest = std::span<const std::byte>(frame).subspan(static_cast<std::size_t>(r));
      if (!rest.empty()) detail::write_all(fd_, rest, "send_handle", watcher_.get());
      return;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw std::system_error(errno, std::generic_category(),
                              fmt::format("send_handle fd {}", fd_));
    }
    watcher_->wait_writable(std::nullopt, "send_handle");
  }
}

std::size_t Connection::recv_some(std::span<std::byte> room, const char* what) {
  if (!socket_) return watcher_->read_some(room.data(), room.size(), std::nullopt, what);
  for (;;) {
    if (may_have_data_) {
      Hub::current().cooperate();  // as FdWatcher::read_some: a fast writer must not starve the hub
      alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
      iovec iov{room.data(), room.size()};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t r = sys::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
      if (r >= 0) {
        const auto n = static_cast<std::size_t>(r);
        may_have_data_ = n == room.size();
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
          const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (std::size_t i = 0; i < count; ++i) {
            int got = -1;
            std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds_.push_back({read_total_ + n, got});
          }
        }
        if ((msg.msg_flags & MSG_CTRUNC) != 0) {
          buf_.commit(n);  // the bytes stay; only the descriptor is gone
          read_total_ += n;
          throw std::system_error(
              EMFILE, std::generic_category(),
              fmt::format("{} fd {}: the kernel dropped a descriptor sent over it (MSG_CTRUNC: "
                          "no room in this process's descriptor table?)",
                          what, fd_));
        }
        return n;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        throw std::system_error(errno, std::generic_category(), fmt::format("{} fd {}", what, fd_));
      }
    }
    watcher_->wait_readable(std::nullopt, what);
    may_have_data_ = true;
  }
}

bool Connection::fill(const char* what) {
  const std::size_t n = recv_some(buf_.room(), what);
  buf_.commit(n);
  read_total_ += n;
  return n > 0;
}

int Connection::front_fd(std::size_t payload_size) const noexcept {
  const std::uint64_t begin = read_total_ - buf_.buffered();
  const std::uint64_t end = begin + detail::kFrameHeaderSize + payload_size;
  for (const ReceivedFd& r : fds_) {
    if (r.end > begin && r.end <= end) return r.fd;
  }
  return -1;
}

std::vector<std::byte> Connection::recv_payload(const char* what, bool handle) {
  check_open(true);
  if (handle) check_socket(what);
  std::lock_guard lock(*recv_lock_);
  try {
    for (;;) {
      if (const auto frame = buf_.front()) {
        const int fd = front_fd(frame->size());
        if (handle != (fd >= 0)) {
          throw std::logic_error(fmt::format(
              "{} fd {}: {}", what, fd_,
              handle ? "the next message is not a descriptor (sent with send or send_bytes): "
                       "take it with recv or recv_bytes"
                     : "the next message is a descriptor (sent with send_handle): take it "
                       "with recv_handle"));
        }
        std::vector<std::byte> payload(frame->begin(), frame->end());
        buf_.pop();
        // Descriptors that came with frames consumed so far are taken, or were never ours.
        const std::uint64_t consumed = read_total_ - buf_.buffered();
        while (!fds_.empty() && fds_.front().end <= consumed) fds_.pop_front();
        if (handle) {
          payload.resize(sizeof(int));
          std::memcpy(payload.data(), &fd, sizeof(int));
        }
        return payload;
      }
      if (!fill(what)) {
        const std::size_t have = buf_.buffered();
        if (have == 0) throw EOFError(fmt::format("{} fd {}: the other end is closed", what, fd_));
        // The same words as read_frame's: what the header announced, what arrived.
        const auto announced = buf_.announced();
        if (!announced) {
          throw FrameError(
              fmt::format("truncated frame on fd {}: the stream ended after {} of {} header bytes",
                          fd_, have, detail::kFrameHeaderSize));
        }
        throw FrameError(fmt::format(
            "truncated frame on fd {}: its header announced {} payload bytes, the stream ended "
            "after {} of them",
            fd_, *announced, have - detail::kFrameHeaderSize));
      }
    }
  } catch (const std::system_error& e) {
    if (e.code().value() == ECONNRESET) {
      throw EOFError(fmt::format("{} fd {}: the other end reset the connection", what, fd_));
    }
    throw;
  }
}

std::vector<std::byte> Connection::recv_bytes() { return recv_payload("recv_bytes"); }

std::size_t Connection::recv_bytes_into(std::span<std::byte> buf, std::size_t offset) {
  if (offset > buf.size()) {
    throw std::out_of_range(fmt::format(
        "recv_bytes_into: offset too large (offset {}, buffer of {} bytes)", offset, buf.size()));
  }
  std::vector<std::byte> message = recv_payload("recv_bytes_into");
  if (message.size() > buf.size() - offset) {
    const std::string what = fmt::format(
        "recv_bytes_into: a message of {} bytes does not fit the {} bytes after offset {}",
        message.size(), buf.size() - offset, offset);
    throw BufferTooShort(what, std::move(message));
  }
  std::copy(message.begin(), message.end(), buf.begin() + static_cast<std::ptrdiff_t>(offset));
  return message.size();
}

int Connection::recv_handle() {
  const std::vector<std::byte> fd_bytes = recv_payload("recv_handle", true);
  int fd = -1;
  std::memcpy(&fd, fd_bytes.data(), sizeof(int));
  return fd;
}

bool Connection::poll(std::optional<Duration> timeout) {
  check_open(true);
  if (buf_.front()) return true;
  pollfd p{fd_, POLLIN, 0};
  if (sys::poll(&p, 1, 0) > 0) return true;
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
