/* epoll_echo_loop.h: the echo logic of the C baselines, shared by epoll_echo.c
 * (one thread) and epoll_echo_mt.c (one loop per thread, SO_REUSEPORT).
 *
 * A hand-written, edge-triggered epoll echo loop -- the fewest syscalls a
 * conventional readiness-based server can make per message: each connection is
 * registered once (EPOLLIN|EPOLLOUT|EPOLLET) and never modified; a readable
 * connection is read until EAGAIN, every chunk being written straight back.
 * Only a short write allocates per-connection state (the unsent remainder), and
 * reading pauses until EPOLLOUT has drained it.
 *
 * One loop shares nothing with another: its own listener, epoll set and read
 * buffer. Everything is static: each program includes this header once.
 */
#ifndef BRAID_BENCH_EPOLL_ECHO_LOOP_H
#define BRAID_BENCH_EPOLL_ECHO_LOOP_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_EVENTS = 256, READ_BUF_SIZE = 64 * 1024 };

/* One per accepted socket; `pending` is non-NULL only while a short write's
 * remainder waits for EPOLLOUT. */
struct conn {
    int fd;
    char *pending;
    size_t pending_off, pending_len;
};

/* One per loop (per thread). The buffer is shared by the loop's connections:
 * a chunk is written back before the next read, so no connection needs a
 * buffer of its own. */
struct echo_loop {
    int epfd, lfd;
    char read_buf[READ_BUF_SIZE];
};

/* The listening socket is told apart from connections by this marker in
 * epoll_data.ptr, so the event loop needs no fd lookup. */
static char listener_tag;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Blocks SIGTERM and SIGINT, the stop signals, in this thread (and the threads
 * it creates later); *stop gets the two, *old the mask before. SIGPIPE is
 * ignored: a write to a reset peer must fail, not kill us. */
static void block_stop_signals(sigset_t *stop, sigset_t *old)
{
    sigemptyset(stop);
    sigaddset(stop, SIGTERM);
    sigaddset(stop, SIGINT);
    if (sigprocmask(SIG_BLOCK, stop, old) < 0)
        die("sigprocmask");
    signal(SIGPIPE, SIG_IGN);
}

/* Binds 127.0.0.1:port (0 = ephemeral) and returns the bound port. With
 * reuse_port, every socket bound so to one port gets its own accept queue and
 * the kernel spreads incoming connections over them. */
static int open_listener(int port, int reuse_port, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt SO_REUSEADDR");
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        die("setsockopt SO_REUSEPORT");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("bind");
    /* The kernel caps the backlog at net.core.somaxconn. */
    if (listen(fd, SOMAXCONN) < 0)
        die("listen");
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        die("getsockname");
    *fd_out = fd;
    return ntohs(addr.sin_port);
}

/* The single-loop servers' command line: [--port P] (0 = ephemeral). Inline:
 * epoll_echo_mt parses its own. */
static inline int parse_port(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--port P]\n", argv[0]);
            exit(2);
        }
    }
    if (port < 0 || port > 65535) {
        fprintf(stderr, "bad port %d\n", port);
        exit(2);
    }
    return port;
}

static void close_conn(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c->pending);
    free(c);
}

/* Keeps the unsent tail of the read buffer; reading stops until it has gone. */
static int stash_pending(struct conn *c, const char *data, size_t len)
{
    c->pending = malloc(len);
    if (!c->pending)
        return -1;
    memcpy(c->pending, data, len);
    c->pending_off = 0;
    c->pending_len = len;
    return 0;
}

/* Writes as much of data as the socket takes now; the rest is stashed.
 * Returns -1 if the connection must be closed. */
static int write_or_stash(struct conn *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(c->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return stash_pending(c, data, len);
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Flushes a stashed remainder. Returns 1 when drained, 0 if the socket is
 * still full (EPOLLOUT will call again), -1 on error. */
static int flush_pending(struct conn *c)
{
    while (c->pending_off < c->pending_len) {
        ssize_t n = write(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->pending_off += (size_t)n;
    }
    free(c->pending);
    c->pending = NULL;
    return 1;
}

/* Edge-triggered: read until EAGAIN, or we will not hear of this data again.
 * Returns -1 if the connection must be closed. */
static int echo_readable(struct conn *c, char *buf)
{
    while (!c->pending) {
        ssize_t n = read(c->fd, buf, READ_BUF_SIZE);
        if (n > 0) {
            if (write_or_stash(c, buf, (size_t)n) < 0)
                return -1;
        } else if (n == 0) {
            return -1; /* peer closed */
        } else if (errno == EAGAIN) {
            return 0;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    /* Paused on a short write: the unread input stays in the socket and is
     * picked up once EPOLLOUT has drained `pending` (see handle_conn). */
    return 0;
}

static void handle_conn(struct echo_loop *loop, struct conn *c, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP)) {
        close_conn(c);
        return;
    }
    if (c->pending && (events & EPOLLOUT)) {
        int r = flush_pending(c);
        if (r < 0) {
            close_conn(c);
            return;
        }
        /* Input that arrived while paused raised no new edge we could have
         * acted on, so resume reading now rather than waiting for EPOLLIN. */
        if (r == 1)
            events |= EPOLLIN;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP)) && echo_readable(c, loop->read_buf) < 0)
        close_conn(c);
}

static void add_conn(int epfd, int fd)
{
    int one = 1;
    /* Ping-pong: Nagle would hold back the tail of a split echo until the
     * peer's (delayed) ACK. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        perror("epoll_ctl ADD");
        close_conn(c);
    }
}

/* The listener is edge-triggered too: accept until EAGAIN. */
static void accept_all(int epfd, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            add_conn(epfd, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN)
            perror("accept4"); /* e.g. EMFILE: a benchmark setup error, keep serving */
        return;
    }
}

/* A loop on listener lfd, its epoll set ready; the caller frees it after run. */
static struct echo_loop *echo_loop_new(int lfd)
{
    struct echo_loop *loop = malloc(sizeof *loop);
    if (!loop)
        die("malloc echo_loop");
    loop->lfd = lfd;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = &listener_tag};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, lfd, &lev) < 0)
        die("epoll_ctl listener");
    return loop;
}

/* Serves until *stop is set (never, when stop is NULL). wait_mask is the signal
 * mask inside epoll_pwait (NULL: the thread's own), so a stop signal can be
 * unblocked only there and never slip in between the check and the wait. */
static void echo_loop_run(struct echo_loop *loop, const sigset_t *wait_mask, volatile sig_atomic_t *stop)
{
    struct epoll_event events[MAX_EVENTS];
    while (!stop || !*stop) {
        int n = epoll_pwait(loop->epfd, events, MAX_EVENTS, -1, wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_pwait");
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == &listener_tag)
                accept_all(loop->epfd, loop->lfd);
            else
                handle_conn(loop, events[i].data.ptr, events[i].events);
        }
    }
}

/* Open connections are reclaimed by exit; nothing else to flush. (inline: a
 * program whose loops never return does not call it.) */
static inline void echo_loop_free(struct echo_loop *loop)
{
    close(loop->epfd);
    close(loop->lfd);
    free(loop);
}

#endif
