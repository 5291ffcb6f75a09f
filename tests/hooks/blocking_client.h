/* A plain-C blocking client in a shared library, as libcurl or hiredis make their calls:
 * the hooks tests call it from braid coroutines to show that the hooks interpose libc for
 * the libraries a program loads, not just for the executable's own calls. */
#ifndef BRAID_TESTS_HOOKS_BLOCKING_CLIENT_H
#define BRAID_TESTS_HOOKS_BLOCKING_CLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A blocking TCP socket connected to 127.0.0.1:port, or -errno. */
int bc_connect(unsigned short port);
/* send() until all `len` bytes are out: 0, or -errno. */
int bc_send_all(int fd, const void* buf, size_t len);
/* recv() until `len` bytes are in: 0, -errno, or -EPIPE at an early EOF. */
int bc_recv_all(int fd, void* buf, size_t len);
/* One echo round trip on a new connection: connect, send `msg`, read it back into `out`
 * (strlen(msg) bytes), close. 0 or -errno. */
int bc_echo(unsigned short port, const char* msg, char* out);
/* One recv() call: its result, or -errno. */
long bc_recv_once(int fd, void* buf, size_t len);
/* usleep(us): 0 or -errno. */
int bc_usleep(unsigned us);

#ifdef __cplusplus
}
#endif
#endif
