/* uring_echo: the io_uring ceiling for braid's echo benchmark.
 *
 * A hand-written, single-threaded echo server on liburing: completion-based, so
 * the kernel does the reads and writes and the loop only reacts to results.
 *   - one recv in flight per connection, into that connection's own buffer (the
 *     kernel writes into it while the loop runs, so buffers cannot be shared);
 *   - a completed recv of n bytes queues a send of those n bytes; a completed
 *     send queues the rest (short send) or the next recv;
 *   - one accept in flight on the listener, re-armed after each completion;
 *   - one io_uring_submit_and_wait per loop turn: everything queued while
 *     handling a batch of completions goes to the kernel in a single syscall.
 * No SQPOLL, no registered buffers or files: the plain setup an application
 * gets by default, as Asio's io_uring backend uses it.
 *
 * Usage: uring_echo [--port P]     (P = 0, the default, picks an ephemeral port)
 * Prints "listening on PORT" once ready; exits 0 on SIGTERM or SIGINT (read
 * through a signalfd with its own SQE, so a stop can never be missed).
 * Binds 127.0.0.1 only: the benchmark runs over loopback.
 */
/* Only parse_port, open_listener, block_stop_signals and die are used from the shared
 * header; its epoll loop is not. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "epoll_echo_loop.h"
#pragma GCC diagnostic pop

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>

enum { RING_ENTRIES = 4096, CONN_BUF_SIZE = 16 * 1024 };

/* What a completion belongs to: user_data holds a pointer to one of these. */
enum op_kind { OP_ACCEPT, OP_SIGNAL, OP_RECV, OP_SEND };

struct op {
    enum op_kind kind;
};

struct uconn {
    struct op recv_op, send_op; /* first members' addresses identify the op */
    int fd;
    size_t send_off, send_len; /* the bytes of buf being sent back */
    char buf[CONN_BUF_SIZE];
};

struct uring_loop {
    struct io_uring ring;
    int lfd, sigfd;
    struct op accept_op, signal_op;
    struct signalfd_siginfo siginfo;
    int stop;
};

/* A full submission queue is flushed to the kernel so the caller always gets an
 * entry: that costs an extra syscall only when more than RING_ENTRIES operations
 * are queued in one turn. */
static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    while (!sqe) {
        int r = io_uring_submit(ring);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            errno = -r;
            die("io_uring_submit");
        }
        sqe = io_uring_get_sqe(ring);
    }
    return sqe;
}

static void queue_accept(struct uring_loop *loop)
{
    struct io_uring_sqe *sqe = get_sqe(&loop->ring);
    io_uring_prep_accept(sqe, loop->lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, &loop->accept_op);
}

static void queue_signal_read(struct uring_loop *loop)
{
    struct io_uring_sqe *sqe = get_sqe(&loop->ring);
    io_uring_prep_read(sqe, loop->sigfd, &loop->siginfo, sizeof loop->siginfo, 0);
    io_uring_sqe_set_data(sqe, &loop->signal_op);
}

static void queue_recv(struct uring_loop *loop, struct uconn *c)
{
    struct io_uring_sqe *sqe = get_sqe(&loop->ring);
    io_uring_prep_recv(sqe, c->fd, c->buf, sizeof c->buf, 0);
    io_uring_sqe_set_data(sqe, &c->recv_op);
}

static void queue_send(struct uring_loop *loop, struct uconn *c)
{
    struct io_uring_sqe *sqe = get_sqe(&loop->ring);
    io_uring_prep_send(sqe, c->fd, c->buf + c->send_off, c->send_len - c->send_off, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, &c->send_op);
}

/* Only one operation per connection is ever in flight (recv, then send, then
 * recv...), so a connection is freed from the completion that ends it. */
static void close_uconn(struct uconn *c)
{
    close(c->fd);
    free(c);
}

static void on_accept(struct uring_loop *loop, int res)
{
    queue_accept(loop);
    if (res < 0) {
        /* EMFILE and friends: the listener stays armed; a benchmark that runs
         * out of descriptors shows it as refused connections. */
        if (res != -EINTR && res != -ECONNABORTED)
            fprintf(stderr, "uring_echo: accept: %s\n", strerror(-res));
        return;
    }
    int one = 1;
    /* Ping-pong: Nagle would hold back the tail of a split echo. */
    setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct uconn *c = malloc(sizeof *c);
    if (!c)
        die("malloc");
    c->recv_op.kind = OP_RECV;
    c->send_op.kind = OP_SEND;
    c->fd = res;
    c->send_off = c->send_len = 0;
    queue_recv(loop, c);
}

static void on_recv(struct uring_loop *loop, struct uconn *c, int res)
{
    if (res == -EINTR || res == -EAGAIN) {
        queue_recv(loop, c);
        return;
    }
    if (res <= 0) { /* peer closed, or an error */
        close_uconn(c);
        return;
    }
    c->send_off = 0;
    c->send_len = (size_t)res;
    queue_send(loop, c);
}

static void on_send(struct uring_loop *loop, struct uconn *c, int res)
{
    if (res == -EINTR || res == -EAGAIN) {
        queue_send(loop, c);
        return;
    }
    if (res < 0) {
        close_uconn(c);
        return;
    }
    c->send_off += (size_t)res;
    if (c->send_off < c->send_len)
        queue_send(loop, c);
    else
        queue_recv(loop, c);
}

static void dispatch(struct uring_loop *loop, struct io_uring_cqe *cqe)
{
    struct op *op = io_uring_cqe_get_data(cqe);
    switch (op->kind) {
    case OP_ACCEPT:
        on_accept(loop, cqe->res);
        break;
    case OP_SIGNAL:
        loop->stop = 1;
        break;
    case OP_RECV:
        on_recv(loop, (struct uconn *)((char *)op - offsetof(struct uconn, recv_op)), cqe->res);
        break;
    case OP_SEND:
        on_send(loop, (struct uconn *)((char *)op - offsetof(struct uconn, send_op)), cqe->res);
        break;
    }
}

static void run(struct uring_loop *loop)
{
    while (!loop->stop) {
        /* The one syscall of a turn: submit what the last batch queued, wait for
         * at least one completion. */
        int r = io_uring_submit_and_wait(&loop->ring, 1);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            errno = -r;
            die("io_uring_submit_and_wait");
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&loop->ring, head, cqe)
        {
            dispatch(loop, cqe);
            seen++;
        }
        io_uring_cq_advance(&loop->ring, seen);
    }
}

int main(int argc, char **argv)
{
    int port = parse_port(argc, argv);
    sigset_t stop_signals, old;
    block_stop_signals(&stop_signals, &old);

    static struct uring_loop loop;
    loop.accept_op.kind = OP_ACCEPT;
    loop.signal_op.kind = OP_SIGNAL;
    loop.sigfd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    if (loop.sigfd < 0)
        die("signalfd");
    int r = io_uring_queue_init(RING_ENTRIES, &loop.ring, 0);
    if (r < 0) {
        fprintf(stderr, "uring_echo: io_uring_queue_init: %s\n", strerror(-r));
        return 1;
    }
    port = open_listener(port, 0, &loop.lfd);
    queue_signal_read(&loop);
    queue_accept(&loop);

    printf("listening on %d\n", port);
    fflush(stdout);

    run(&loop);
    io_uring_queue_exit(&loop.ring); /* cancels what is in flight */
    return 0;
}
