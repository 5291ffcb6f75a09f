#include "blocking_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int bc_connect(unsigned short port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (const struct sockaddr*)&a, sizeof a) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

int bc_send_all(int fd, const void* buf, size_t len) {
  const char* p = (const char*)buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int bc_recv_all(int fd, void* buf, size_t len) {
  char* p = (char*)buf;
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) return -EPIPE;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int bc_echo(unsigned short port, const char* msg, char* out) {
  int fd = bc_connect(port);
  if (fd < 0) return fd;
  size_t len = strlen(msg);
  int rc = bc_send_all(fd, msg, len);
  if (rc == 0) rc = bc_recv_all(fd, out, len);
  close(fd);
  return rc;
}

long bc_recv_once(int fd, void* buf, size_t len) {
  ssize_t n = recv(fd, buf, len, 0);
  return n < 0 ? -errno : (long)n;
}

int bc_usleep(unsigned us) { return usleep(us) < 0 ? -errno : 0; }
