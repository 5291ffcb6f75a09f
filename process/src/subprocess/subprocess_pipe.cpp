// The parent's ends of a child's stdio pipes: non-blocking descriptors that park the
// calling coroutine when the pipe is full (stdin) or empty (stdout, stderr).
#include <braid/process/subprocess.hpp>

#include <braid/coro/task.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/hub.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace braid::subprocess {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;  // a default pipe's capacity
// Buffers up to this size grow the ordinary way (one copy, well under a millisecond).
constexpr std::size_t kPlainGrowth = 4 << 20;
// Bytes copied per Hub::cooperate() when a bigger buffer grows: what one read brings.
constexpr std::size_t kCopyPiece = 64 * 1024;

// Makes room for `more` bytes after `buf`'s contents. Past kPlainGrowth, doubling a
// std::string is one copy of everything read so far (tens of ms at 100 MiB, with the new
// pages faulted in): that copy is done a piece at a time here, cooperating with the hub
// between pieces. If a cooperate() throws (a kill, an enclosing Timeout), `buf` is as it
// was.
void reserve_cooperatively(std::string& buf, std::size_t more) {
  const std::size_t need = buf.size() + more;
  if (need <= buf.capacity() || need <= kPlainGrowth) return;
  std::string bigger;
  bigger.reserve(std::max(need, 2 * buf.capacity()));  // fresh pages: faulted as we copy
  for (std::size_t off = 0; off < buf.size(); off += kCopyPiece) {
    Hub::current().cooperate();
    bigger.append(buf, off, kCopyPiece);
  }
  buf.swap(bigger);
}

using braid::detail::CallDeadline;

}  // namespace

// ---- PipeWriter ----

PipeWriter::PipeWriter(PipeWriter&& other) noexcept = default;
PipeWriter& PipeWriter::operator=(PipeWriter&& other) noexcept = default;

void PipeWriter::close() noexcept { fd_.reset(); }

void PipeWriter::write(std::string_view data, std::optional<Duration> timeout) {
  if (!fd_) throw std::logic_error("write to the child's stdin: the pipe is closed");
  const CallDeadline until(timeout);
  std::size_t done = 0;
  while (done < data.size()) {
    Hub::current().cooperate();  // a child that reads as fast as we write never blocks us
    const ssize_t n = braid::detail::sys::write(fd_.get(), data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      braid::wait_writable(fd_.get(), until.remaining());
    } else {
      throw std::system_error(errno, std::generic_category(), "write to the child's stdin");
    }
  }
}

// ---- PipeReader ----

PipeReader::PipeReader(PipeReader&& other) noexcept
    : fd_(std::move(other.fd_)),
      eof_(other.eof_),
      user_closed_(other.user_closed_),
      buffer_(std::move(other.buffer_)) {}

PipeReader& PipeReader::operator=(PipeReader&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::move(other.fd_);
    eof_ = other.eof_;
    user_closed_ = other.user_closed_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void PipeReader::close() noexcept {
  fd_.reset();
  user_closed_ = true;
  buffer_.clear();
}

void PipeReader::require_open(const char* what) const {
  if (user_closed_) throw std::logic_error(fmt::format("{}: the pipe is closed", what));
}

bool PipeReader::fill_available(std::size_t limit) {
  std::size_t got = 0;
  while (!eof_ && got < limit) {
    const std::size_t old = buffer_.size();
    reserve_cooperatively(buffer_, kReadChunk);
    buffer_.resize(old + kReadChunk);
    const ssize_t n = braid::detail::sys::read(fd_.get(), buffer_.data() + old, kReadChunk);
    buffer_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0) {
      eof_ = true;
      fd_.reset();  // nothing more can come; free the descriptor now
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return false;
    } else {
      throw std::system_error(errno, std::generic_category(), "read from the child's pipe");
    }
  }
  return eof_;
}

bool PipeReader::fill_once(std::optional<Duration> timeout, const char* what) {
  require_open(what);
  const CallDeadline until(timeout);
  const std::size_t before = buffer_.size();
  while (!eof_) {
    Hub::current().cooperate();  // a child that writes fast keeps every read succeeding
    fill_available(kReadChunk);
    if (buffer_.size() > before) return true;
    if (!eof_) braid::wait_readable(fd_.get(), until.remaining());
  }
  return buffer_.size() > before;
}

std::string PipeReader::read(std::optional<Duration> timeout) {
  const CallDeadline until(timeout);
  while (fill_once(until.remaining(), "read")) {
  }
  return take_buffered();
}

std::string PipeReader::read(std::size_t n, std::optional<Duration> timeout) {
  const CallDeadline until(timeout);
  while (buffer_.size() < n && fill_once(until.remaining(), "read")) {
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, out.size());
  return out;
}

std::string PipeReader::read_some(std::size_t max, std::optional<Duration> timeout) {
  if (buffer_.empty()) fill_once(timeout, "read_some");
  std::string out = buffer_.substr(0, max);
  buffer_.erase(0, out.size());
  return out;
}

std::string PipeReader::readline(std::optional<Duration> timeout) {
  const CallDeadline until(timeout);
  std::size_t scanned = 0;
  std::size_t nl;
  while ((nl = buffer_.find('\n', scanned)) == std::string::npos) {
    scanned = buffer_.size();
    if (!fill_once(until.remaining(), "readline")) break;
  }
  const std::size_t len = nl == std::string::npos ? buffer_.size() : nl + 1;
  std::string line = buffer_.substr(0, len);
  buffer_.erase(0, len);
  return line;
}

}  // namespace braid::subprocess
