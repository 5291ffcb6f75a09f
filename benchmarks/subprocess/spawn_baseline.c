/* The floor for subprocess::run({"true"}): start `true` and reap it, N times, with
 * nothing around it. Prints the mean microseconds per child.
 *   spawn_baseline posix_spawn N   posix_spawnp("true") + waitpid (PATH search included)
 *   spawn_baseline vfork N         vfork + execvp("true") + waitpid
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s posix_spawn|vfork N\n", argv[0]);
    return 2;
  }
  const int use_vfork = strcmp(argv[1], "vfork") == 0;
  const int n = atoi(argv[2]);
  char* child_argv[] = {"true", NULL};
  const double start = now_us();
  for (int i = 0; i < n; ++i) {
    pid_t pid;
    if (use_vfork) {
      pid = vfork();
      if (pid == 0) {
        execvp("true", child_argv);
        _exit(127);
      }
    } else if (posix_spawnp(&pid, "true", NULL, NULL, child_argv, environ) != 0) {
      pid = -1;
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
      fprintf(stderr, "spawn failed\n");
      return 1;
    }
  }
  printf("%.1f\n", (now_us() - start) / n);
  return 0;
}
