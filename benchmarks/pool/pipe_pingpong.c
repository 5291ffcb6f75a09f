/* Baseline: a raw pipe ping-pong between two processes. The parent writes 8 bytes, the
 * child reads them and writes them back; blocking reads, nothing else.
 *
 *   pipe_pingpong [iterations=20000] [block=1000] [socket]   -> "rtt_us <median> cpu_us <c>"
 *
 * With "socket" the two directions are one AF_UNIX socketpair instead of two pipes (the
 * transport the Pool uses), to tell the transport's cost from the Pool's own.
 * BRAID_BENCH_CPUS="P,C" pins the parent to CPU P and the child to CPU C (bench_cpu.h);
 * cpu_us is the CPU time of both processes per round trip over the timed blocks.
 */
#include "bench_cpu.h" /* first: it defines _GNU_SOURCE for sched_setaffinity */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 20000;
  int block = argc > 2 ? atoi(argv[2]) : 1000;
  int to_child[2], to_parent[2];
  if (argc > 3 && strcmp(argv[3], "socket") == 0) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 1;
    /* Parent uses sv[0] both ways, child sv[1]; dup so the pipe code below works as is. */
    to_child[1] = sv[0];
    to_parent[0] = dup(sv[0]);
    to_child[0] = sv[1];
    to_parent[1] = dup(sv[1]);
  } else if (pipe(to_child) || pipe(to_parent)) {
    return 1;
  }
  bench_pin_self();
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t v;
    close(to_child[1]);
    close(to_parent[0]);
    while (read(to_child[0], &v, sizeof v) == sizeof v) {
      if (write(to_parent[1], &v, sizeof v) != sizeof v) break;
    }
    _exit(0);
  }
  bench_pin_peer(pid);
  close(to_child[0]);
  close(to_parent[1]);
  uint64_t v = 0;
  for (int i = 0; i < 2000; ++i) { /* warm up */
    if (write(to_child[1], &v, sizeof v) != sizeof v ||
        read(to_parent[0], &v, sizeof v) != sizeof v)
      return 1;
  }
  int nblocks = iterations / block;
  double* means = malloc(sizeof(double) * nblocks);
  const double cpu0 = bench_cpu_seconds(0) + bench_cpu_seconds(pid);
  for (int b = 0; b < nblocks; ++b) {
    double t0 = now_s();
    for (int i = 0; i < block; ++i) {
      v = i;
      if (write(to_child[1], &v, sizeof v) != sizeof v) return 1;
      if (read(to_parent[0], &v, sizeof v) != sizeof v) return 1;
    }
    means[b] = (now_s() - t0) / block * 1e6;
  }
  const double cpu_us =
      (bench_cpu_seconds(0) + bench_cpu_seconds(pid) - cpu0) * 1e6 / (nblocks * block);
  qsort(means, nblocks, sizeof(double), cmp);
  printf("rtt_us %.2f cpu_us %.2f\n",
         nblocks % 2 ? means[nblocks / 2] : (means[nblocks / 2 - 1] + means[nblocks / 2]) / 2,
         cpu_us);
  fflush(stdout);
  close(to_child[1]);
  close(to_parent[0]);
  waitpid(pid, NULL, 0);
  free(means);
  return 0;
}
