// The data-transfer hooks: recv/send and friends, and read/write/readv/writev (on a
// socket they become the equivalent recv/send call with MSG_DONTWAIT; on any other
// descriptor they wait for readiness first). See io_engine.hpp.
#include "io_engine.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

using namespace braid::hooks::detail;

namespace {

// recv/recvfrom with MSG_WAITALL on a stream socket gather until `len` bytes, EOF or an
// error, as the kernel's blocking call does; otherwise one receive.
template <class Attempt>  // Attempt(flags, offset) -> ssize_t
ssize_t receive_all(const braid_hooks_entry* rt, int fd, std::size_t len, int flags,
                    Attempt&& attempt) {
  const bool gather = (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0;
  const int base = flags & ~MSG_WAITALL;
  std::size_t done = 0;
  do {
    const ssize_t r = receive(rt, fd, [&](int extra) { return attempt(base | extra, done); });
    if (r <= 0) return done > 0 ? static_cast<ssize_t>(done) : r;
    done += static_cast<std::size_t>(r);
  } while (gather && done < len && is_stream(fd));
  return static_cast<ssize_t>(done);
}


ssize_t send_iov(const braid_hooks_entry* rt, int fd, const msghdr* msg, int flags) {
  const std::size_t total = iov_total(msg->msg_iov, msg->msg_iovlen);
  return transmit(rt, fd, total, [&](int extra, std::size_t off) {
    if (off == 0) return BRAID_REAL(sendmsg)(fd, msg, flags | extra);
    // After a partial send of a stream: the rest, without the ancillary data (sent
    // with the first bytes).
    std::vector<iovec> rest = iov_after(msg->msg_iov, msg->msg_iovlen, off);
    msghdr m{};
    m.msg_iov = rest.data();
    m.msg_iovlen = rest.size();
    return BRAID_REAL(sendmsg)(fd, &m, flags | extra);
  });
}
}  // namespace

extern "C" {

ssize_t recv(int fd, void* buf, size_t len, int flags) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || (flags & MSG_DONTWAIT) != 0) return BRAID_REAL(recv)(fd, buf, len, flags);
  return receive_all(rt, fd, len, flags, [&](int f, std::size_t off) {
    return BRAID_REAL(recv)(fd, static_cast<char*>(buf) + off, len - off, f);
  });
}

ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || (flags & MSG_DONTWAIT) != 0) {
    return BRAID_REAL(recvfrom)(fd, buf, len, flags, from, fromlen);
  }
  return receive_all(rt, fd, len, flags, [&](int f, std::size_t off) {
    return BRAID_REAL(recvfrom)(fd, static_cast<char*>(buf) + off, len - off, f, from, fromlen);
  });
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || (flags & MSG_DONTWAIT) != 0) return BRAID_REAL(recvmsg)(fd, msg, flags);
  // MSG_WAITALL here returns the first data (a documented limit).
  return receive(rt, fd, [&](int extra) {
    return BRAID_REAL(recvmsg)(fd, msg, (flags & ~MSG_WAITALL) | extra);
  });
}

ssize_t send(int fd, const void* buf, size_t len, int flags) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || (flags & MSG_DONTWAIT) != 0) return BRAID_REAL(send)(fd, buf, len, flags);
  return transmit(rt, fd, len, [&](int extra, std::size_t off) {
    return BRAID_REAL(send)(fd, static_cast<const char*>(buf) + off, len - off, flags | extra);
  });
}

ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to,
               socklen_t tolen) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || (flags & MSG_DONTWAIT) != 0) {
    return BRAID_REAL(sendto)(fd, buf, len, flags, to, tolen);
  }
  return transmit(rt, fd, len, [&](int extra, std::size_t off) {
    return BRAID_REAL(sendto)(fd, static_cast<const char*>(buf) + off, len - off, flags | extra,
                              to, tolen);
  });
}


ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || (flags & MSG_DONTWAIT) != 0) return BRAID_REAL(sendmsg)(fd, msg, flags);
  return send_iov(rt, fd, msg, flags);
}

ssize_t read(int fd, void* buf, size_t count) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(read)(fd, buf, count);
  const ssize_t r =
      receive(rt, fd, [&](int extra) { return BRAID_REAL(recv)(fd, buf, count, extra); });
  if (r >= 0 || errno != ENOTSOCK) return r;
  return on_non_socket(rt, fd, false, [&] { return BRAID_REAL(read)(fd, buf, count); });
}

ssize_t write(int fd, const void* buf, size_t count) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr) return BRAID_REAL(write)(fd, buf, count);
  const ssize_t r = transmit(rt, fd, count, [&](int extra, std::size_t off) {
    return BRAID_REAL(send)(fd, static_cast<const char*>(buf) + off, count - off, extra);
  });
  if (r >= 0 || errno != ENOTSOCK) return r;
  return on_non_socket(rt, fd, true, [&] { return BRAID_REAL(write)(fd, buf, count); });
}

ssize_t readv(int fd, const iovec* iov, int iovcnt) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || iovcnt < 0) return BRAID_REAL(readv)(fd, iov, iovcnt);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<std::size_t>(iovcnt);
  const ssize_t r = receive(rt, fd, [&](int extra) { return BRAID_REAL(recvmsg)(fd, &m, extra); });
  if (r >= 0 || errno != ENOTSOCK) return r;
  return on_non_socket(rt, fd, false, [&] { return BRAID_REAL(readv)(fd, iov, iovcnt); });
}

ssize_t writev(int fd, const iovec* iov, int iovcnt) {
  const braid_hooks_entry* rt = parking_entry();
  if (rt == nullptr || iovcnt < 0) return BRAID_REAL(writev)(fd, iov, iovcnt);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<std::size_t>(iovcnt);
  const ssize_t r = send_iov(rt, fd, &m, 0);
  if (r >= 0 || errno != ENOTSOCK) return r;
  return on_non_socket(rt, fd, true, [&] { return BRAID_REAL(writev)(fd, iov, iovcnt); });
}

}  // extern "C"
