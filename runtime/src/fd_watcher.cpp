#include <braid/runtime/detail/fd_watcher.hpp>

#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/fork.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>
#include <boost/asio/buffer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace braid::detail {

ssize_t read_retry(int fd, void* buf, std::size_t n) noexcept {
  ssize_t r;
  do {
    r = ::read(fd, buf, n);
  } while (r < 0 && errno == EINTR);
  return r;
}

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

FdWatcher::~FdWatcher() { release(); }

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
      const ssize_t r = read_retry(fd_, buf, n);
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
      braid::detail::wait_fd(fd_, false, timeout, what);
      may_have_data_ = true;
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

void FdWatcher::wait_readable(std::optional<Duration> timeout, const char* what) {
  Desc* desc = registration(Hub::current(), what);
  if (desc == nullptr) {
    braid::detail::wait_fd(fd_, false, timeout, what);
  } else {
    wait(*desc, false, timeout, what);
  }
  may_have_data_ = true;
}

void FdWatcher::wait_writable(std::optional<Duration> timeout, const char* what) {
  Hub& hub = Hub::current();
  if (registration(hub, what) == nullptr) {
    braid::detail::wait_fd(fd_, true, timeout, what);
    return;
  }
  hub.check_interrupt();
  const std::unique_ptr<Desc> desc = register_duplicate(hub.context(), fd_, what);
  write_desc_ = desc.get();
  struct Clear {
    FdWatcher& w;
    ~Clear() { w.write_desc_ = nullptr; }
  } clear{*this};
  wait(*desc, true, timeout, what);
}

void FdWatcher::wait(Desc& desc, bool writable, std::optional<Duration> timeout, const char* what) {
  const auto type = writable ? Desc::wait_write : Desc::wait_read;
  const boost::system::error_code ec =
      await_op([&](auto handler) { desc.async_wait(type, std::move(handler)); }, timeout,
               WaitInfo{writable ? "fd writable" : "fd readable", fd_});
  if (ec) throw_wait_error(ec, fd_, timeout, what);
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
