/* epoll_echo: the ceiling for braid's echo benchmark.
 *
 * A hand-written, single-threaded, edge-triggered epoll echo server — the
 * fewest syscalls a conventional readiness-based server can make per message
 * (the loop is in epoll_echo_loop.h, shared with epoll_echo_mt.c).
 *
 * Usage: epoll_echo [--port P]     (P = 0, the default, picks an ephemeral port)
 * Prints "listening on PORT" once ready; exits 0 on SIGTERM or SIGINT.
 * Binds 127.0.0.1 only: the benchmark runs over loopback.
 */
#include "epoll_echo_loop.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* SIGTERM/SIGINT stay blocked except inside epoll_pwait, so a signal can never
 * slip in between the flag check and the wait. */
static void setup_signals(sigset_t *wait_mask)
{
    sigset_t block;
    block_stop_signals(&block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int main(int argc, char **argv)
{
    int port = parse_port(argc, argv);
    sigset_t wait_mask;
    setup_signals(&wait_mask);

    int lfd;
    port = open_listener(port, 0, &lfd);
    struct echo_loop *loop = echo_loop_new(lfd);

    printf("listening on %d\n", port);
    fflush(stdout);

    echo_loop_run(loop, &wait_mask, &stop_requested);
    echo_loop_free(loop);
    return 0;
}
