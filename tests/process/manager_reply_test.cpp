// The Manager's typed replies as a client sees them: a fake server in this process answers
// with a reply of the wrong kind, or with bytes that are no reply at all, and the client
// must say so clearly (which call, on which manager, what it expected and got).
#include <braid/process/manager.hpp>

#include <braid/coro.hpp>
#include <braid/process/detail/frame.hpp>
#include <braid/runtime/wait.hpp>

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mp = braid::process;
using namespace std::chrono_literals;

namespace {

// A listening Unix socket in a fresh directory, and one served connection: the
// handshake (any key accepted), then each request answered by `answer`.
class FakeManager {
 public:
  FakeManager() {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/braid-fake-manager-XXXXXX";
    REQUIRE(::mkdtemp(dir_.data()) != nullptr);
    path_ = dir_ + "/socket";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
  }
  ~FakeManager() {
    server_.kill();
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string address() const { return "unix:" + path_; }

  /// Serves connections until killed; each request gets `answer(request)` as its frame.
  void serve(std::function<std::vector<std::byte>(const mp::detail::ManagerRequest&)> answer) {
    server_ = braid::spawn([this, answer = std::move(answer)] {
      for (;;) {
        braid::wait_readable(fd_);
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) continue;
        braid::spawn([c, answer] {
          try {
            (void)mp::detail::read_frame(c);  // the key
            mp::detail::write_frame(c, mp::detail::encode_value_frame(mp::detail::ManagerReply{}));
            for (;;) {
              const auto rq =
                  mp::detail::decode_value<mp::detail::ManagerRequest>(mp::detail::read_frame(c));
              mp::detail::write_frame(c, answer(rq));
            }
          } catch (const std::exception&) {
          }
          ::close(c);
        });
      }
    });
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  braid::Task<void> server_;
};

}  // namespace

TEST_CASE("Manager client: a reply of the wrong kind names the call and both kinds",
          "[process][unit][manager]") {
  FakeManager fake;
  fake.serve([](const mp::detail::ManagerRequest&) {
    return mp::detail::encode_value_frame(mp::detail::ManagerReply{mp::detail::ManagerFlag{true}});
  });
  auto c = std::make_shared<mp::detail::ManagerClient>(fake.address(), "key");
  mp::DictProxy<int, int> d(c, 1);
  const std::string expected =
      "manager at " + fake.address() + ": malformed reply to operation " +
      std::to_string(static_cast<unsigned>(mp::detail::ManagerOp::dict_size)) +
      ": expected a count, got a flag";
  REQUIRE_THROWS_MATCHES(d.size(), mp::ManagerError, Catch::Message(expected));
  CHECK(c->idle_connections() == 1);  // a whole reply was read: the stream is in step
  CHECK(d.contains(7));               // a flag is what contains() expects
  REQUIRE_THROWS_WITH(d.get(7), Catch::EndsWith("expected a value, got a flag"));
}

TEST_CASE("Manager client: a reply that does not decode is a ManagerError",
          "[process][unit][manager]") {
  FakeManager fake;
  fake.serve([](const mp::detail::ManagerRequest&) {
    const std::vector<std::byte> junk(3, std::byte{0xEE});  // variant index 0xEE...: no reply
    return mp::detail::encode_frame(junk);
  });
  auto c = std::make_shared<mp::detail::ManagerClient>(fake.address(), "key");
  mp::ListProxy<int> l(c, 1);
  REQUIRE_THROWS_MATCHES(
      l.size(), mp::ManagerError,
      Catch::Predicate<mp::ManagerError>([&](const mp::ManagerError& e) {
        const std::string what = e.what();
        return what.rfind(
                   "manager at " + fake.address() + ": malformed reply to operation " +
                       std::to_string(static_cast<unsigned>(mp::detail::ManagerOp::list_size)) +
                       ": ",
                   0) == 0 &&
               what.size() > 60;  // and the decoder's reason after it
      }));
  CHECK(c->idle_connections() == 0);  // out of step: closed, not kept
}

TEST_CASE("Manager client: the server's failure reply keeps its message and kind",
          "[process][unit][manager]") {
  FakeManager fake;
  fake.serve([](const mp::detail::ManagerRequest& rq) {
    using mp::detail::ManagerErrorKind;
    const auto kind = rq.op == mp::detail::ManagerOp::queue_get ? ManagerErrorKind::queue_empty
                                                                : ManagerErrorKind::error;
    return mp::detail::encode_value_frame(
        mp::detail::ManagerReply{mp::detail::ManagerFailure{kind, "it went wrong"}});
  });
  auto c = std::make_shared<mp::detail::ManagerClient>(fake.address(), "key");
  mp::QueueProxy<int> q(c, 1);
  REQUIRE_THROWS_MATCHES(q.get_nowait(), braid::QueueEmpty,
                         Catch::Message("manager: it went wrong"));
  REQUIRE_THROWS_MATCHES(q.qsize(), mp::ManagerError, Catch::Message("manager: it went wrong"));
  CHECK(c->idle_connections() == 1);
}
