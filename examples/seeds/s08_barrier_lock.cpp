// S8 (seed 000): a Barrier(2) synchronising two of four processes, and a Lock serialising
// their output.
//
//   def test_with_barrier(synchronizer, serializer):
//       name = multiprocessing.current_process().name
//       synchronizer.wait()
//       now = time()
//       with serializer:
//           print("process %s ----> %s" % (name, datetime.fromtimestamp(now)))
//   def test_without_barrier():
//       name = multiprocessing.current_process().name
//       now = time()
//       print("process %s ----> %s" % (name, datetime.fromtimestamp(now)))
//   if __name__ == '__main__':
//       synchronizer = Barrier(2)
//       serializer = Lock()
//       Process(name='p1 - test_with_barrier', target=test_with_barrier,
//               args=(synchronizer, serializer)).start()
//       Process(name='p2 - test_with_barrier', target=test_with_barrier,
//               args=(synchronizer, serializer)).start()
//       Process(name='p3 - test_without_barrier', target=test_without_barrier).start()
//       Process(name='p4 - test_without_barrier', target=test_without_barrier).start()
#include <braid/process.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mp = braid::process;

// datetime.fromtimestamp(now) prints "2024-05-01 12:34:56.789012".
std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) %
                  std::chrono::seconds(1);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%06lld", buf, static_cast<long long>(us.count()));
  return out;
}

void test_with_barrier(mp::Barrier synchronizer, mp::Lock serializer) {
  const std::string& name = mp::current_process().name();
  synchronizer.wait();
  const std::string now = timestamp();
  std::lock_guard with(serializer);
  std::printf("process %s ----> %s\n", name.c_str(), now.c_str());
}

void test_without_barrier() {
  const std::string& name = mp::current_process().name();
  std::printf("process %s ----> %s\n", name.c_str(), timestamp().c_str());
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Barrier synchronizer(2);
  mp::Lock serializer;
  std::vector<std::unique_ptr<mp::Process>> ps;
  auto named = [](const char* n) { return mp::ProcessOptions{.name = n, .daemon = {}}; };
  ps.push_back(std::make_unique<mp::Process>(named("p1 - test_with_barrier"), test_with_barrier,
                                             synchronizer, serializer));
  ps.push_back(std::make_unique<mp::Process>(named("p2 - test_with_barrier"), test_with_barrier,
                                             synchronizer, serializer));
  ps.push_back(
      std::make_unique<mp::Process>(named("p3 - test_without_barrier"), test_without_barrier));
  ps.push_back(
      std::make_unique<mp::Process>(named("p4 - test_without_barrier"), test_without_barrier));
  for (auto& p : ps) p->start();
  // Python joins non-daemon children at exit; the Process objects go out of scope first
  // here, and the runtime still waits for them.
}
