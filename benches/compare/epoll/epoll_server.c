/*
 * The ceiling for benches/compare: `echo` and `http_hello` as a hand-written epoll loop, the
 * way a C programmer writes a server that only has to be fast. Built twice by run.sh:
 *
 *   gcc -O2 -pthread -DSERVE_ECHO       -o bin/echo       epoll_server.c
 *   gcc -O2 -pthread -DSERVE_HTTP_HELLO -o bin/http_hello epoll_server.c
 *
 * It follows the examples' command-line contract as far as the benchmarks need it: `NAME ADDR`,
 * NETPOLL_WORKERS threads (default: the number of CPUs), one `listening on ADDR` line, exit 0
 * on SIGINT/SIGTERM (at once: it keeps no state worth finishing).
 *
 * Layout: every thread has its own listening socket (SO_REUSEPORT on one port) and its own
 * epoll instance, edge-triggered; a connection lives on the thread that accepted it, so there
 * is no lock, no queue and no wake-up between threads: nothing a runtime could do with less.
 * Per connection: a read buffer (http_hello keeps a partial request head in it) and an output
 * buffer for what a full socket did not take (then EPOLLOUT finishes it). No allocation per
 * request. It is not a general server: http_hello answers every complete request head with
 * the same 200 (wrk sends bodiless GETs) and closes a connection whose head outgrows 8 KiB.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if !defined(SERVE_ECHO) && !defined(SERVE_HTTP_HELLO)
#error "build with -DSERVE_ECHO or -DSERVE_HTTP_HELLO"
#endif

#define MAX_FDS 65536
#define READ_SIZE 65536
#define MAX_HEAD 8192

struct conn {
    char *in;       /* http_hello: unprocessed bytes (a partial request head) */
    size_t in_len;
    char *out;      /* bytes a full socket did not take yet */
    size_t out_len, out_cap;
    int eof;        /* the peer half-closed: close once `out` is sent */
};

static struct conn *conns[MAX_FDS];
static struct sockaddr_in bind_addr;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static int listener(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s < 0) die("socket");
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one))
        die("setsockopt");
    if (bind(s, (struct sockaddr *)&bind_addr, sizeof bind_addr)) die("bind");
    if (listen(s, 4096)) die("listen");
    return s;
}

static void close_conn(int fd) {
    struct conn *c = conns[fd];
    if (c) {
        free(c->in);
        free(c->out);
        free(c);
        conns[fd] = NULL;
    }
    close(fd); /* also leaves the epoll set */
}

/* Sends what the socket takes of `len` bytes: how many, or -1 if the peer is gone. */
static ssize_t send_some(int fd, const char *p, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, p + off, len - off, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && errno == EAGAIN)
            break;
        else
            return -1;
    }
    return (ssize_t)off;
}

/* Sends `len` bytes, queueing what the socket does not take. Returns -1 if the peer is gone. */
static int send_all(int fd, struct conn *c, const char *p, size_t len) {
    if (c->out_len == 0) {
        ssize_t n = send_some(fd, p, len);
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    if (len > 0) {
        if (c->out_len + len > c->out_cap) {
            size_t cap = (c->out_len + len) * 2;
            char *o = realloc(c->out, cap);
            if (!o) return -1;
            c->out = o;
            c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, p, len);
        c->out_len += len;
    }
    return 0;
}

/* EPOLLOUT: push out what is queued. */
static int flush_out(int fd, struct conn *c) {
    ssize_t n = send_some(fd, c->out, c->out_len);
    if (n < 0) return -1;
    memmove(c->out, c->out + n, c->out_len - (size_t)n);
    c->out_len -= (size_t)n;
    return 0;
}

#ifdef SERVE_HTTP_HELLO
static __thread char date_line[64];
static __thread time_t date_secs = -1;

/* The same response as netpoll's http_hello, Date formatted once a second per thread. */
static size_t response(char *out) {
    time_t now = time(NULL);
    if (now != date_secs) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date_line, sizeof date_line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        date_secs = now;
    }
    static const char head[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n";
    size_t n = sizeof head - 1, d = strlen(date_line);
    memcpy(out, head, n);
    memcpy(out + n, date_line, d);
    memcpy(out + n + d, "\r\nHello, World!", 15);
    return n + d + 15;
}

/* Answers every complete head in `c->in`, keeping a partial one. -1: close. */
static int serve(int fd, struct conn *c, char *scratch) {
    size_t start = 0, o = 0;
    for (;;) {
        char *end = memmem(c->in + start, c->in_len - start, "\r\n\r\n", 4);
        if (!end) break;
        start = (size_t)(end - c->in) + 4;
        o += response(scratch + o);
        if (o > READ_SIZE - 256) {
            if (send_all(fd, c, scratch, o)) return -1;
            o = 0;
        }
    }
    if (o && send_all(fd, c, scratch, o)) return -1;
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    return c->in_len > MAX_HEAD ? -1 : 0;
}
#endif

/* EPOLLIN: read until the socket is drained (edge-triggered). -1: close. */
static int on_readable(int fd, struct conn *c, char *buf, char *scratch) {
    for (;;) {
#ifdef SERVE_ECHO
        (void)scratch;
        size_t room = READ_SIZE;
        ssize_t n = recv(fd, buf, room, 0);
#else
        (void)buf;
        size_t room = READ_SIZE - c->in_len;
        ssize_t n = recv(fd, c->in + c->in_len, room, 0);
#endif
        if (n == 0) {
            c->eof = 1; /* finish sending what is queued, then close */
            return c->out_len ? 0 : -1;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN ? 0 : -1;
        }
#ifdef SERVE_ECHO
        if (send_all(fd, c, buf, (size_t)n)) return -1;
#else
        c->in_len += (size_t)n;
        if (serve(fd, c, scratch)) return -1;
#endif
        if ((size_t)n < room) return 0; /* a short read drained the socket */
    }
}

static void *worker(void *arg) {
    int l = (int)(long)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = l};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev)) die("epoll_ctl");
    static __thread char buf[READ_SIZE], scratch[READ_SIZE];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                for (;;) {
                    int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) break; /* EAGAIN, or EMFILE: the next edge retries */
                    if (c >= MAX_FDS) {
                        close(c);
                        continue;
                    }
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *cn = calloc(1, sizeof *cn);
#ifdef SERVE_HTTP_HELLO
                    if (cn) cn->in = malloc(READ_SIZE);
                    if (cn && !cn->in) {
                        free(cn);
                        cn = NULL;
                    }
#endif
                    if (!cn) {
                        close(c);
                        continue;
                    }
                    conns[c] = cn;
                    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                            .data.fd = c};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &e)) close_conn(c);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            int bad = 0;
            if (evs[i].events & EPOLLOUT && c->out_len) bad = flush_out(fd, c);
            if (!bad && !c->eof && evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                bad = on_readable(fd, c, buf, scratch);
            if (bad || (c->eof && c->out_len == 0)) close_conn(fd);
        }
    }
    return NULL;
}

static void on_signal(int sig) {
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s ADDR\n", argv[0]);
        return 2;
    }
    char host[64];
    const char *colon = strrchr(argv[1], ':');
    if (!colon || (size_t)(colon - argv[1]) >= sizeof host) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = 0;
    bind_addr.sin_family = AF_INET;
    bind_addr.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &bind_addr.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    const char *w = getenv("NETPOLL_WORKERS");
    if (w && atoi(w) > 0) threads = atoi(w);
    if (threads < 1) threads = 1;

    /* The first listener picks the port (port 0), the others share it (SO_REUSEPORT). All are
     * bound before the line below, so a client never finds the port closed. */
    for (long i = 0; i < threads; i++) {
        int l = listener();
        if (i == 0) {
            socklen_t len = sizeof bind_addr;
            if (getsockname(l, (struct sockaddr *)&bind_addr, &len)) die("getsockname");
        }
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)(long)l)) die("pthread_create");
    }
    printf("listening on %s:%d\n", host, ntohs(bind_addr.sin_port));
    fflush(stdout);
    for (;;) pause();
}
