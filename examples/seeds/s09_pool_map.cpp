// Seed S9, map: a pool of 4 worker processes squares range(100).
//
//   def function_square(data):
//       return data * data
//   inputs = list(range(100))
//   pool = multiprocessing.Pool(processes=4)
//   pool_outputs = pool.map(function_square, inputs)
//   pool.close()
//   pool.join()
//   print('Pool :', pool_outputs)
#include <braid/process/pool.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

int function_square(int data) { return data * data; }

int main() {
  std::vector<int> inputs(100);
  std::iota(inputs.begin(), inputs.end(), 0);
  braid::process::Pool pool(4);
  std::vector<int> pool_outputs = pool.map(function_square, inputs);
  pool.close();
  pool.join();
  std::printf("Pool : [");
  for (std::size_t i = 0; i < pool_outputs.size(); ++i) {
    std::printf("%s%d", i ? ", " : "", pool_outputs[i]);
  }
  std::printf("]\n");
}
