/* epoll_echo_mt: the multicore ceiling for braid's ServerGroup benchmark.
 *
 * N threads, each with its own SO_REUSEPORT listener on the same port and its
 * own edge-triggered epoll loop (epoll_echo_loop.h, the loop of epoll_echo.c):
 * the threads share nothing, and the kernel spreads incoming connections over
 * their accept queues. This is what N pre-forked workers with reuse_port do,
 * minus the processes.
 *
 * Usage: epoll_echo_mt [--port P] [--threads N]   (P = 0, the default, picks an
 *        ephemeral port: the first thread binds it, the others bind the port it
 *        got; N defaults to 2)
 * Prints "listening on PORT" once every thread's listener is bound and
 * listening; exits 0 on SIGTERM or SIGINT. Binds 127.0.0.1 only.
 */
#include "epoll_echo_loop.h"

#include <pthread.h>

enum { MAX_THREADS = 256 };

static long parse_value(const char *arg, const char *text, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *text == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "bad %s '%s': expected %ld..%ld\n", arg, text, lo, hi);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, int *port, int *threads)
{
    *port = 0;
    *threads = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            *port = (int)parse_value("--port", argv[++i], 0, 65535);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            *threads = (int)parse_value("--threads", argv[++i], 1, MAX_THREADS);
        } else {
            fprintf(stderr, "usage: %s [--port P] [--threads N]\n", argv[0]);
            exit(2);
        }
    }
}

static void *serve(void *arg)
{
    /* SIGTERM/SIGINT stay blocked here (the mask is inherited from main), so
     * only main's sigwait takes them. */
    echo_loop_run(arg, NULL, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    int port, threads;
    parse_args(argc, argv, &port, &threads);

    sigset_t stop_signals;
    block_stop_signals(&stop_signals, NULL); /* the loop threads inherit the mask */

    struct echo_loop *loops[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        int lfd;
        /* An ephemeral port is chosen by the first bind; the others join it. */
        port = open_listener(port, 1, &lfd);
        loops[t] = echo_loop_new(lfd);
    }
    for (int t = 0; t < threads; t++) {
        pthread_t tid;
        int err = pthread_create(&tid, NULL, serve, loops[t]);
        if (err != 0) {
            errno = err;
            die("pthread_create");
        }
        pthread_detach(tid);
    }

    printf("listening on %d\n", port);
    fflush(stdout);

    int sig;
    if (sigwait(&stop_signals, &sig) != 0)
        die("sigwait");
    /* The loops never return; _exit ends them with the process without running
     * exit-time libc clean-up under their feet. Open connections are reclaimed
     * by the kernel. */
    _exit(0);
}
