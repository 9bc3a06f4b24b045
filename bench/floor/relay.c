/*
 * The floor of the benchmark: a 1:1 TCP relay in plain C, for `fastproxy bench --target relay-c`.
 *
 * Each accepted connection gets its own upstream connection and bytes go both ways unread: no
 * parsing, no headers added, no timeouts, one read and one write per chunk, level-triggered epoll.
 * What it costs per request is what this kernel charges any proxy for the same segments, so the
 * difference between it and a real proxy is the proxy's own work.
 *
 * usage: relay LISTEN_PORT UPSTREAM_PORT   (both on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define CHUNK (256 * 1024) /* uvloop's read size: with 64 KiB, a 1 MiB body costs twice the CPU */

/* What one side read and its peer has not taken yet (only while the peer is full). */
struct side {
    int peer; /* -1: not in use */
    char *buf;
    size_t off, len;
};

static struct side sides[MAX_FDS];
static int ep;
/* Every read lands here, as in uvloop's one read buffer: one per connection would hold 256 KiB per
 * connection for nothing, since a chunk leaves at once unless the peer is full. */
static char chunk[CHUNK];

static void watch(int fd, unsigned events, int op) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(ep, op, fd, &ev) != 0) perror("epoll_ctl");
}

static void drop(int fd) {
    int peer = sides[fd].peer;
    int fds[2] = {fd, peer};
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0 || sides[fds[i]].peer < 0) continue;
        free(sides[fds[i]].buf);
        sides[fds[i]] = (struct side){.peer = -1};
        close(fds[i]);
    }
}

/* Writes data[0:len] to fd; how much went (len when all of it), or -1 on an error. */
static ssize_t write_all(int fd, const char *data, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0) return errno == EAGAIN ? (ssize_t)done : -1;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static void readable(int fd) {
    struct side *s = &sides[fd];
    if (s->len > 0) return; /* its peer has not taken the last chunk yet */
    ssize_t n = read(fd, chunk, CHUNK);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN) return;
        drop(fd);
        return;
    }
    ssize_t sent = write_all(s->peer, chunk, (size_t)n);
    if (sent < 0) {
        drop(fd);
    } else if (sent < n) { /* backpressure: keep the rest, stop reading until the peer drains */
        s->len = (size_t)(n - sent);
        s->off = 0;
        if ((s->buf = malloc(s->len)) == NULL) {
            drop(fd);
            return;
        }
        memcpy(s->buf, chunk + sent, s->len);
        watch(fd, 0, EPOLL_CTL_MOD);
        watch(s->peer, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
    }
}

static void writable(int fd) {
    int from = sides[fd].peer;
    struct side *s = &sides[from];
    ssize_t sent = write_all(fd, s->buf + s->off, s->len);
    if (sent < 0) {
        drop(fd);
        return;
    }
    s->off += (size_t)sent;
    s->len -= (size_t)sent;
    if (s->len == 0) {
        free(s->buf);
        s->buf = NULL;
        watch(fd, EPOLLIN, EPOLL_CTL_MOD);
        watch(from, EPOLLIN, EPOLL_CTL_MOD);
    }
}

static int pair(int client, const struct sockaddr_in *upstream) {
    int one = 1;
    /* a blocking connect: the load connects once, before it is measured */
    int up = socket(AF_INET, SOCK_STREAM, 0);
    if (up < 0 || up >= MAX_FDS || client >= MAX_FDS || connect(up, (const void *)upstream, sizeof *upstream)) {
        if (up >= 0) close(up);
        return -1;
    }
    fcntl(up, F_SETFL, O_NONBLOCK);
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sides[client] = (struct side){.peer = up};
    sides[up] = (struct side){.peer = client};
    watch(client, EPOLLIN, EPOLL_CTL_ADD);
    watch(up, EPOLLIN, EPOLL_CTL_ADD);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LISTEN_PORT UPSTREAM_PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < MAX_FDS; i++) sides[i].peer = -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    struct sockaddr_in upstream = addr;
    upstream.sin_port = htons((unsigned short)atoi(argv[2]));
    int one = 1, lsock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lsock, (void *)&addr, sizeof addr) != 0 || listen(lsock, 4096) != 0) {
        perror("listen");
        return 1;
    }
    ep = epoll_create1(0);
    watch(lsock, EPOLLIN, EPOLL_CTL_ADD);
    struct epoll_event events[512];
    for (;;) {
        int n = epoll_wait(ep, events, 512, -1);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lsock) {
                int client;
                while ((client = accept4(lsock, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (pair(client, &upstream) != 0) close(client);
                }
                continue;
            }
            if (sides[fd].peer < 0) continue; /* dropped earlier in this batch */
            if (events[i].events & EPOLLOUT) writable(fd);
            if (sides[fd].peer >= 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) readable(fd);
        }
    }
}
