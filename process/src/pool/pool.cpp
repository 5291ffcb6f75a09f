// Pool's non-template members, its error types, and the small helpers its templates call.
#include <braid/process/pool.hpp>

#include "pool_internal.hpp"

#include <braid/runtime/log.hpp>

#include <cxxabi.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <typeinfo>

namespace braid::process {
namespace {

unsigned online_cpus() noexcept {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

}  // namespace

RemoteError::RemoteError(const std::string& type, const std::string& what)
    : std::runtime_error(type.empty() ? what : type + ": " + what),
      info_(std::make_shared<const Info>(Info{type, what})) {}

const std::string& RemoteError::type_name() const noexcept {
  static const std::string empty;
  return info_ ? info_->type : empty;
}

const std::string& RemoteError::remote_what() const noexcept {
  static const std::string empty;
  return info_ ? info_->what : empty;
}

Pool::Pool(std::optional<unsigned> processes, PoolOptions o) {
  detail::PoolConfig cfg;
  cfg.processes = processes.value_or(online_cpus());
  cfg.initializer = o.initializer;
  if (o.maxtasksperchild && *o.maxtasksperchild == 0) {
    // Python's ValueError: "no limit" is the absent value, never 0.
    throw std::invalid_argument("Pool: maxtasksperchild must be a positive int or None (got 0)");
  }
  cfg.maxtasksperchild = o.maxtasksperchild.value_or(0);
  core_ = std::make_shared<detail::PoolCore>(cfg);
}

Pool::~Pool() {
  if (core_) core_->terminate();
}

void Pool::close() noexcept { core_->close(); }
void Pool::join() { core_->join(); }
void Pool::terminate() noexcept { core_->terminate(); }

}  // namespace braid::process

namespace braid::process::detail {
namespace {

std::mutex g_fds_mutex;
std::vector<int> g_fds;  // parent ends of every pool's worker sockets

std::string demangle(const char* name) {
  int status = 0;
  char* s = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && s != nullptr ? s : name;
  std::free(s);
  return out;
}

}  // namespace

void register_pool_fd(int fd) {
  std::lock_guard lock(g_fds_mutex);
  g_fds.push_back(fd);
}

void unregister_pool_fd(int fd) noexcept {
  std::lock_guard lock(g_fds_mutex);
  g_fds.erase(std::remove(g_fds.begin(), g_fds.end(), fd), g_fds.end());
}

std::vector<int> pool_fds() {
  std::lock_guard lock(g_fds_mutex);
  return g_fds;
}

std::pair<std::string, std::string> describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return {demangle(typeid(e).name()), e.what()};
  } catch (const GreenletExit&) {
    return {"braid::GreenletExit", "the task was killed"};
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return {t != nullptr ? demangle(t->name()) : "unknown", "(not a std::exception)"};
  }
}

void log_callback_error(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    braid::detail::log().error("Pool: a callback raised {}: {}", demangle(typeid(ex).name()),
                               ex.what());
  } catch (...) {
    braid::detail::log().error("Pool: a callback raised a non-standard exception");
  }
}

std::vector<std::size_t> chunk_starts(std::size_t n, std::size_t chunksize) {
  std::vector<std::size_t> starts;
  if (chunksize == 0) chunksize = 1;
  starts.reserve(n / chunksize + 2);
  for (std::size_t i = 0; i < n; i += chunksize) starts.push_back(i);
  starts.push_back(n);
  return starts;
}

RequestWriter::RequestWriter(std::uint64_t id, Trampoline t, std::uintptr_t fn,
                             std::vector<std::byte> buffer)
    : frame_(std::move(buffer)), sink_(frame_), os_(&sink_), ar_(os_) {
  frame_.clear();
  frame_.resize(kFrameHeaderSize);
  ar_(id, static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(t)),
      static_cast<std::uint64_t>(fn));
}

std::vector<std::byte> RequestWriter::finish() {
  if (!os_) throw std::bad_alloc();
  put_frame_header(frame_.data(), frame_.size() - kFrameHeaderSize);
  return std::move(frame_);
}

}  // namespace braid::process::detail
