// S11 (seeds 001, 002): a Manager's dict and list shared by ten processes; each writes its
// pid into both.
//
//   def func(a, b):
//       a[os.getpid()] = os.getpid()
//       b.append(os.getpid())
//   if __name__ == '__main__':
//       manager = Manager()
//       d = manager.dict()
//       l = manager.list()
//       l2 = []
//       for i in range(10):
//           p = Process(target=func, args=(d, l))
//           p.start()
//           l2.append(p)
//       for i in l2:
//           i.join()
//       print(d)
//       print(l)
#include <braid/process.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace mp = braid::process;

void func(mp::DictProxy<int, int> a, mp::ListProxy<int> b) {
  a[::getpid()] = ::getpid();
  b.append(::getpid());
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  mp::Manager manager;
  auto d = manager.dict<int, int>();
  auto l = manager.list<int>();
  std::vector<std::unique_ptr<mp::Process>> l2;
  for (int i = 0; i < 10; ++i) {
    l2.push_back(std::make_unique<mp::Process>(func, d, l));
    l2.back()->start();
  }
  for (auto& p : l2) p->join();
  // Printed as Python prints a dict and a list.
  std::string out = "{";
  for (auto [k, v] : d.items())
    out += (out.size() > 1 ? ", " : "") + std::to_string(k) + ": " + std::to_string(v);
  std::printf("%s}\n", out.c_str());
  out = "[";
  for (int pid : l.items()) out += (out.size() > 1 ? ", " : "") + std::to_string(pid);
  std::printf("%s]\n", out.c_str());
}
