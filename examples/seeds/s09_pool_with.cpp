// Seed S9, "with Pool(...) as p": the pool lives for one scope; leaving it terminates the
// workers (as Python's Pool.__exit__ does), even when the scope is left by an exception.
//
//   with Pool(4) as p:
//       print(p.map(square, range(10)))
//       print(p.apply(square, (12,)))
//       print(list(p.imap(square, range(5))))
//       print(sorted(p.imap_unordered(square, range(5))))
//       print(p.starmap(pow, [(2, 3), (3, 2)]))
#include <braid/process/pool.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

int square(int x) { return x * x; }
long ipow(long base, int exp) {
  long r = 1;
  while (exp-- > 0) r *= base;
  return r;
}

template <class T>
void print(const char* what, const std::vector<T>& v) {
  std::printf("%s[", what);
  for (std::size_t i = 0; i < v.size(); ++i) std::printf("%s%ld", i ? ", " : "", long(v[i]));
  std::printf("]\n");
}

int main() {
  std::vector<int> ten(10), five(5);
  std::iota(ten.begin(), ten.end(), 0);
  std::iota(five.begin(), five.end(), 0);
  {
    braid::process::Pool p(4);
    print("map: ", p.map(square, ten));
    std::printf("apply: %d\n", p.apply(square, 12));
    std::vector<int> in_order;
    for (int v : p.imap(square, five)) in_order.push_back(v);
    print("imap: ", in_order);
    std::vector<int> any_order;
    for (int v : p.imap_unordered(square, five)) any_order.push_back(v);
    std::sort(any_order.begin(), any_order.end());
    print("imap_unordered (sorted): ", any_order);
    std::vector<std::tuple<long, int>> args{{2, 3}, {3, 2}};
    print("starmap: ", p.starmap(ipow, args));
  }  // ~Pool: terminate()
  int status = 0;
  std::printf("workers after the scope: %s\n",
              ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD ? "gone" : "still there");
}
