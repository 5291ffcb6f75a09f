/* epoll_echo: the ceiling for braid's echo benchmark.
 *
 * A hand-written, single-threaded, edge-triggered epoll echo server — the
 * fewest syscalls a conventional readiness-based server can make per message:
 * each connection is registered once (EPOLLIN|EPOLLOUT|EPOLLET) and never
 * modified; a readable connection is read until EAGAIN, every chunk being
 * written straight back. Only a short write allocates per-connection state
 * (the unsent remainder), and reading pauses until EPOLLOUT has drained it.
 *
 * Usage: epoll_echo [--port P]     (P = 0, the default, picks an ephemeral port)
 * Prints "listening on PORT" once ready; exits 0 on SIGTERM or SIGINT.
 * Binds 127.0.0.1 only: the benchmark runs over loopback.
 */
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

/* The listening socket is told apart from connections by this marker in
 * epoll_data.ptr, so the event loop needs no fd lookup. */
static char listener_tag;

/* Shared by all connections: the loop is single-threaded and a chunk is written
 * back before the next read, so no connection needs a buffer of its own. */
static char read_buf[READ_BUF_SIZE];

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int parse_port(int argc, char **argv)
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

/* Returns the bound port (the ephemeral one when `port` is 0). */
static int open_listener(int port, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt SO_REUSEADDR");
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

static void close_conn(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c->pending);
    free(c);
}

/* Keeps the unsent tail of read_buf; reading stops until it has gone. */
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
static int echo_readable(struct conn *c)
{
    while (!c->pending) {
        ssize_t n = read(c->fd, read_buf, sizeof read_buf);
        if (n > 0) {
            if (write_or_stash(c, read_buf, (size_t)n) < 0)
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

static void handle_conn(struct conn *c, uint32_t events)
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
    if ((events & (EPOLLIN | EPOLLRDHUP)) && echo_readable(c) < 0)
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
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    if (sigprocmask(SIG_BLOCK, &block, wait_mask) < 0)
        die("sigprocmask");
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a write to a reset peer must fail, not kill us */
}

int main(int argc, char **argv)
{
    int port = parse_port(argc, argv);
    sigset_t wait_mask;
    setup_signals(&wait_mask);

    int lfd;
    port = open_listener(port, &lfd);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = &listener_tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0)
        die("epoll_ctl listener");

    printf("listening on %d\n", port);
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    while (!stop_requested) {
        int n = epoll_pwait(epfd, events, MAX_EVENTS, -1, &wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_pwait");
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == &listener_tag)
                accept_all(epfd, lfd);
            else
                handle_conn(events[i].data.ptr, events[i].events);
        }
    }
    /* Open connections are reclaimed by exit; nothing else to flush. */
    close(epfd);
    close(lfd);
    return 0;
}
