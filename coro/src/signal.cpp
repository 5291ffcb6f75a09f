#include <braid/coro/signal.hpp>

#include <braid/coro/task.hpp>
#include <braid/runtime/detail/format.hpp>
#include <braid/runtime/log.hpp>
#include <braid/runtime/wait.hpp>

#include <fmt/format.h>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace braid {

namespace {
class SetRegistry;
}

struct SignalHandler::State {
  int signum = 0;
  std::function<void()> fn;
  std::unique_ptr<boost::asio::signal_set> set;  // null once cancelled
  SetRegistry* registry = nullptr;               // null once released

  ~State() { release(); }
  // Destroying the set unregisters the signal and completes a pending wait with
  // operation_aborted, which drops the wait's reference to this state.
  void release() noexcept;
};

namespace {

// One per io_context, created just after its signal_set_service. Asio shuts services down
// newest first, so this one releases every handler's signal_set while the signal service
// still exists: a handle that outlives its hub (a global, Hub::uninstall) then neither
// touches a destroyed service nor leaves its signal caught by a loop that is gone.
class SetRegistry : public boost::asio::execution_context::service {
 public:
  static boost::asio::execution_context::id id;
  explicit SetRegistry(boost::asio::execution_context& ctx) : service(ctx) {}

  void add(SignalHandler::State* st) { live_.push_back(st); }
  void remove(SignalHandler::State* st) noexcept { std::erase(live_, st); }

 private:
  void shutdown() override {
    for (SignalHandler::State* st : std::exchange(live_, {})) {
      st->registry = nullptr;
      st->set.reset();
    }
  }

  std::vector<SignalHandler::State*> live_;
};

boost::asio::execution_context::id SetRegistry::id;

}  // namespace

void SignalHandler::State::release() noexcept {
  if (registry != nullptr) {
    registry->remove(this);
    registry = nullptr;
  }
  set.reset();
}

namespace {

// glibc's abbreviation ("TERM"), or null for a number it has none for (real-time ones).
const char* abbreviation(int signum) {
  return signum > 0 && signum < NSIG ? ::sigabbrev_np(signum) : nullptr;
}

// "SIGTERM", or "signal 40".
std::string name_of(int signum) {
  const char* abbrev = abbreviation(signum);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signum);
}

// "SIGTERM (15)", or "signal 40".
std::string describe(int signum) {
  const char* abbrev = abbreviation(signum);
  return abbrev != nullptr ? fmt::format("SIG{} ({})", abbrev, signum) : name_of(signum);
}

// std::invalid_argument naming the call, the signal and why it cannot be caught.
void validate(int signum, const char* what) {
  if (signum <= 0 || signum >= NSIG) {
    throw std::invalid_argument(
        fmt::format("{}: invalid signal number {} (signals are 1..{})", what, signum, NSIG - 1));
  }
  if (signum == SIGKILL || signum == SIGSTOP) {
    throw std::invalid_argument(fmt::format("{}: cannot catch {}", what, describe(signum)));
  }
}

void add_signal(boost::asio::signal_set& set, int signum, const char* what) {
  boost::system::error_code ec;
  set.add(signum, ec);
  if (ec) {
    throw std::system_error(std::error_code(ec),
                            fmt::format("{}: registering {}", what, describe(signum)));
  }
}

// The body of one run of a handler's fn, in its own coroutine. A kill (GreenletExit) and
// a non-std exception pass on to the task, whose destructor reports the latter.
void run_handler(const std::shared_ptr<SignalHandler::State>& st) {
  try {
    st->fn();
  } catch (const std::exception& e) {
    detail::log().error("signal_handler for {}: the handler threw: {}", describe(st->signum),
                        e.what());
  }
}

// Waits for the next delivery; each delivery starts a coroutine, then waits again. The
// pending wait holds the state, so a copy of the handle is not needed to keep it alive.
void arm(const std::shared_ptr<SignalHandler::State>& st) {
  st->set->async_wait([st](const boost::system::error_code& ec, int) {
    if (ec || !st->set) return;  // cancelled (an arrival already queued is dropped too)
    spawn(SpawnOptions{"signal_handler(" + name_of(st->signum) + ")"}, [st] { run_handler(st); });
    arm(st);
  });
}

}  // namespace

SignalHandler& SignalHandler::operator=(SignalHandler&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}

void SignalHandler::cancel() noexcept {
  if (state_) state_->release();
}

int SignalHandler::signum() const noexcept { return state_ ? state_->signum : 0; }

bool SignalHandler::active() const noexcept { return state_ && state_->set != nullptr; }

SignalHandler signal_handler(int signum, std::function<void()> fn) {
  validate(signum, "signal_handler");
  if (!fn) throw std::invalid_argument("signal_handler: empty function");
  Hub& hub = Hub::current();
  auto st = std::make_shared<SignalHandler::State>();
  st->signum = signum;
  st->fn = std::move(fn);
  st->set = std::make_unique<boost::asio::signal_set>(hub.context());
  // After the set: the registry must be newer than the signal_set_service (see above).
  st->registry = &boost::asio::use_service<SetRegistry>(hub.context());
  st->registry->add(st.get());
  add_signal(*st->set, signum, "signal_handler");
  arm(st);
  return SignalHandler(std::move(st));
}

int wait_signal(std::span<const int> signals, std::optional<Duration> timeout) {
  if (signals.empty()) throw std::invalid_argument("wait_signal: no signals given");
  for (int s : signals) validate(s, "wait_signal");
  Hub& hub = Hub::current();
  boost::asio::signal_set set(hub.context());
  for (int s : signals) add_signal(set, s, "wait_signal");
  int got = 0;
  const boost::system::error_code ec =
      detail::await_op([&](auto handler) { set.async_wait(std::move(handler)); }, timeout,
                       detail::WaitInfo{"wait_signal", signals.front()}, &got);
  if (ec == boost::asio::error::timed_out) {
    std::string names;
    for (int s : signals) names += (names.empty() ? "" : ", ") + describe(s);
    throw TimeoutError(fmt::format("wait_signal({}): timed out after {}", names,
                                   detail::format_duration(*timeout)));
  }
  if (ec) throw std::system_error(std::error_code(ec), "wait_signal");
  return got;
}

int wait_signal(std::initializer_list<int> signals, std::optional<Duration> timeout) {
  return wait_signal(std::span<const int>(signals.begin(), signals.size()), timeout);
}

}  // namespace braid
