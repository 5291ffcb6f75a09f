/* Pinning and CPU accounting shared by the process-module benchmarks (C and C++).
 *
 * BRAID_BENCH_CPUS="P,C" pins the benchmark's own process to CPU P and its peer (the
 * worker, the echo child) to CPU C; unset, nothing is pinned. CPU time comes from
 * /proc/<pid>/schedstat (nanoseconds on a CPU, exact), so a peer that is still running
 * can be measured over the timed section only.
 */
#ifndef BRAID_BENCH_CPU_H
#define BRAID_BENCH_CPU_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

/* The CPUs named by BRAID_BENCH_CPUS: 1 with *parent and *child set, 0 when unset. */
static inline int bench_cpus(int* parent, int* child) {
  const char* s = getenv("BRAID_BENCH_CPUS");
  return s != NULL && sscanf(s, "%d,%d", parent, child) == 2;
}

/* Pins `pid` (0: the caller) to `cpu`; exits on failure, a silent fallback would make
 * the figures lie about their pinning. */
static inline void bench_pin(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(pid, sizeof set, &set) != 0) {
    perror("sched_setaffinity");
    exit(2);
  }
}

/* Pins the caller to its CPU from BRAID_BENCH_CPUS, if set. */
static inline void bench_pin_self(void) {
  int p, c;
  if (bench_cpus(&p, &c)) bench_pin(0, p);
}

/* Pins a peer process to its CPU from BRAID_BENCH_CPUS, if set. */
static inline void bench_pin_peer(pid_t pid) {
  int p, c;
  if (bench_cpus(&p, &c)) bench_pin(pid, c);
}

/* Seconds `pid` (0: the caller) has spent on a CPU, user and system; -1 when unknown. */
static inline double bench_cpu_seconds(pid_t pid) {
  char path[64];
  if (pid == 0) {
    snprintf(path, sizeof path, "/proc/self/schedstat");
  } else {
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
  }
  FILE* f = fopen(path, "r");
  if (f == NULL) return -1;
  unsigned long long ns = 0;
  const int ok = fscanf(f, "%llu", &ns) == 1;
  fclose(f);
  return ok ? (double)ns / 1e9 : -1;
}

#endif
