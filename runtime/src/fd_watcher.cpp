#include <braid/runtime/detail/fd_watcher.hpp>

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/detail/sys.hpp>
#include <braid/runtime/fork.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>
#include <boost/asio/buffer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace braid::detail {

namespace {

[[noreturn]] void throw_wait_error(const boost::system::error_code& ec, int fd,
                                   std::optional<Duration> timeout, const char* what) {
  if (ec == boost::asio::error::timed_out) {
    throw TimeoutError(
        fmt::format("{} fd {}: timed out after {}", what, fd, format_duration(*timeout)));
  }
  if (ec == boost::asio::error::operation_aborted) {
    throw std::system_error(EBADF, std::generic_category(),
                            fmt::format("{} fd {}: closed while waiting", what, fd));
  }
  throw std::system_error(std::error_code(ec), fmt::format("{} fd {}", what, fd));
}

}  // namespace

// A close-on-exec duplicate of `fd` registered with `ctx`; throws on failure.
std::unique_ptr<boost::asio::posix::stream_descriptor> register_duplicate(
    boost::asio::io_context& ctx, int fd, const char* what) {
  const int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) {
    throw std::system_error(errno, std::generic_category(), fmt::format("{} fd {}", what, fd));
  }
  auto desc = std::make_unique<boost::asio::posix::stream_descriptor>(ctx);
  boost::system::error_code ec;
  desc->assign(dup_fd, ec);
  if (ec) {
    ::close(dup_fd);
    throw std::system_error(std::error_code(ec),
                            fmt::format("{} fd {}: registering with the reactor", what, fd));
  }
  return desc;
}

void restore_blocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) != 0) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

FdWatcher::~FdWatcher() { release(); }  // then owned_, if any, closes the descriptor

void FdWatcher::wait_once(int fd, bool writable, std::optional<Duration> timeout,
                          const char* what) {
  FdWatcher watcher(fd);
  watcher.one_wait_ = true;
  if (writable) {
    watcher.wait_writable(timeout, what);
  } else {
    watcher.wait_readable(timeout, what);
  }
}

bool FdWatcher::registered() const noexcept {
  return desc_ != nullptr && generation_ == fork_generation();
}

std::size_t FdWatcher::read_some(void* buf, std::size_t n, std::optional<Duration> timeout,
                                 const char* what) {
  for (;;) {
    // Data may be waiting (nothing said otherwise since the last wake): read at once.
    // A short read empties a pipe or stream socket, so after one the next read is left
    // to the reactor, which tries it only once the descriptor has become readable.
    if (may_have_data_) {
      // A writer as fast as this reader keeps every read full: yield now and then
      // (Hub::cooperate), or this loop would never go back to the hub.
      Hub::current().cooperate();
      const ssize_t r = sys::read(fd_, buf, n);
      if (r >= 0) {
        may_have_data_ = static_cast<std::size_t>(r) == n;
        return static_cast<std::size_t>(r);
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        throw std::system_error(errno, std::generic_category(), fmt::format("{} fd {}", what, fd_));
      }
      may_have_data_ = false;
    }
    Hub& hub = Hub::current();
    Desc* desc = registration(hub, what);
    if (desc == nullptr) {
      wait_readable(timeout, what);  // from another thread: a registration of its own
      continue;
    }
    std::size_t got = 0;
    const boost::system::error_code ec = await_op(
        [&](auto handler) {
          desc->async_read_some(boost::asio::buffer(buf, n), std::move(handler));
        },
        timeout, WaitInfo{"fd readable", fd_}, &got);
    if (ec == boost::asio::error::eof) {
      may_have_data_ = true;
      return 0;
    }
    if (ec) throw_wait_error(ec, fd_, timeout, what);
    may_have_data_ = got == n;
    return got;
  }
}

// The waits name the descriptor as it was when they began: close() may run meanwhile.
void FdWatcher::wait_readable(std::optional<Duration> timeout, const char* what) {
  const int fd = fd_;
  const boost::system::error_code ec = await(false, timeout, what);
  if (ec) throw_wait_error(ec, fd, timeout, what);
  may_have_data_ = true;
}

bool FdWatcher::wait_readable_within(std::optional<Duration> timeout, const char* what) {
  const int fd = fd_;
  const boost::system::error_code ec = await(false, timeout, what);
  if (ec == boost::asio::error::timed_out) return false;
  if (ec) throw_wait_error(ec, fd, timeout, what);
  may_have_data_ = true;
  return true;
}

void FdWatcher::wait_writable(std::optional<Duration> timeout, const char* what) {
  const int fd = fd_;
  const boost::system::error_code ec = await(true, timeout, what);
  if (ec) throw_wait_error(ec, fd, timeout, what);
}

boost::system::error_code FdWatcher::await(bool writable, std::optional<Duration> timeout,
                                           const char* what) {
  Hub& hub = Hub::current();
  if (desc_ != nullptr && generation_ != fork_generation()) forget_parents();
  if (desc_ != nullptr && hub_ != &hub) {
    // Registered with another thread's hub: this wait registers with ours, for itself.
    FdWatcher here(fd_);
    here.one_wait_ = one_wait_;
    return here.await(writable, timeout, what);
  }
  if (!writable) return await_on(*registration(hub, what), false, timeout);
  // Waiting to write is rare (a full pipe), so it registers for this wait only: interest
  // in writability kept on the persistent registration would wake the hub whenever the
  // peer reads. The persistent one is made for the reads to come, unless there are none.
  if (!one_wait_) (void)registration(hub, what);
  detail::Scheduling::check_interrupt(hub);
  const std::unique_ptr<Desc> desc = register_duplicate(hub.context(), fd_, what);
  if (desc_ == nullptr) generation_ = fork_generation();  // what release() checks
  write_desc_ = desc.get();
  struct Clear {
    FdWatcher& w;
    ~Clear() { w.write_desc_ = nullptr; }
  } clear{*this};
  return await_on(*desc, true, timeout);
}

boost::system::error_code FdWatcher::await_on(Desc& desc, bool writable,
                                              std::optional<Duration> timeout) {
  // A caller's blocking descriptor must come back blocking (a later plain read() would
  // fail with EAGAIN): its mode is put back as soon as the wait is registered (Asio
  // remembers it set the mode and never sets it again for this registration).
  int make_blocking = -1;
  if (one_wait_) {
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK) == 0) make_blocking = fd_;
  }
  return await_ready(desc, writable, timeout,
                     WaitInfo{writable ? "fd writable" : "fd readable", fd_}, make_blocking);
}

FdWatcher::Desc* FdWatcher::registration(Hub& hub, const char* what) {
  if (desc_ != nullptr && generation_ != fork_generation()) forget_parents();
  if (desc_ != nullptr) return hub_ == &hub ? desc_.get() : nullptr;
  desc_ = register_duplicate(hub.context(), fd_, what);
  generation_ = fork_generation();
  link(hub);
  return desc_.get();
}

// The registration belongs to a reactor whose epoll instance this forked child shares
// with its parent: closing it through Asio would remove the parent's registration too
// (epoll_ctl DEL). The Asio object is leaked (it refers to the parent's reactor, which
// the child leaked as well) and only our duplicate is closed.
void FdWatcher::forget_parents() noexcept {
  for (Desc* d : {desc_.get(), write_desc_}) {
    if (d != nullptr && d->native_handle() >= 0) ::close(d->native_handle());
  }
  (void)desc_.release();
  write_desc_ = nullptr;
  hub_ = nullptr;
  prev_ = next_ = nullptr;  // the parent's list, which the child's hub has forgotten
  may_have_data_ = true;
}

void FdWatcher::release() noexcept {
  if (desc_ == nullptr && write_desc_ == nullptr) return;
  if (generation_ != fork_generation()) {
    forget_parents();
    return;
  }
  boost::system::error_code ignored;
  if (write_desc_ != nullptr) write_desc_->cancel(ignored);  // its owner closes it
  if (desc_ != nullptr) {
    desc_->close(ignored);  // pending operations complete with operation_aborted
    desc_.reset();
    unlink();
  }
  may_have_data_ = true;
}

void FdWatcher::close() noexcept {
  release();
  if (owned_) {
    owned_.reset();
    fd_ = -1;
  }
}

void FdWatcher::link(Hub& hub) noexcept {
  hub_ = &hub;
  prev_ = nullptr;
  next_ = hub.watchers_;
  if (next_ != nullptr) next_->prev_ = this;
  hub.watchers_ = this;
}

void FdWatcher::unlink() noexcept {
  if (hub_ == nullptr) return;
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    hub_->watchers_ = next_;
  }
  if (next_ != nullptr) next_->prev_ = prev_;
  prev_ = next_ = nullptr;
  hub_ = nullptr;
}

}  // namespace braid::detail
