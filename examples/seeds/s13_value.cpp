// S13 (seed 003): a shared Value versus an ordinary variable.
//
//   >>> configs = {'num': 0}
//   >>> def fun1(configs):
//   ...     configs['num'] += 1
//   ...     print(configs)
//   >>> for _ in range(3):
//   ...     multiprocessing.Process(target=fun1, args=(configs,)).start()
//   {'num': 1}          # each child changed its own copy
//   {'num': 1}
//   {'num': 1}
//   >>> def fun1(num):
//   ...     num.value += 1
//   ...     print(num.value)
//   >>> num = multiprocessing.Value('i', 0)
//   >>> for _ in range(3):
//   ...     multiprocessing.Process(target=fun1, args=(num,)).start()
//   1
//   2
//   3
//
// As the seed advises, the increment is done under get_lock(); the children are joined
// one by one here so the printed values come out in order.
#include <braid/process.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

namespace mp = braid::process;

std::map<std::string, int> configs{{"num", 0}};

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  for (int i = 0; i < 3; ++i) {
    mp::Process p([] {
      configs["num"] += 1;
      std::printf("{'num': %d}\n", configs["num"]);
    });
    p.start();
    p.join();
  }
  mp::Value<int> num(0);
  for (int i = 0; i < 3; ++i) {
    mp::Process p(
        [](mp::Value<int> num) {
          std::lock_guard g(num.get_lock());
          num.value() += 1;
          std::printf("%d\n", num.value());
        },
        num);
    p.start();
    p.join();
  }
  std::printf("parent sees configs['num'] = %d and num.value = %d\n", configs["num"], num.value());
}
