/*
 * sseload: a load client for Server-Sent Events fan-out, written in C so that the client is not
 * the bottleneck on a small machine (one thread, epoll, non-blocking sockets).
 *
 *   sseload <port> <subscribers> <messages>
 *
 * Opens <subscribers> connections with GET /sse, checks each answers 200 with a
 * text/event-stream, then asks GET /burst/<messages> on one more connection (the server then
 * sends <messages> events to every subscriber) and waits until every subscriber has them all.
 * Events are counted by their "data: " lines (a line start is any "\n", so chunked framing does
 * not matter). Prints one JSON line: {"mode":"sse-burst","rate":<deliveries/s>,...}, the rate
 * measured from the burst request to the last delivery. Exits 1 with a message on stderr when
 * a connection fails, an answer is wrong, or the deliveries do not all arrive within 60 s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATTERN "\ndata: "
#define PATTERN_LEN 7
#define HEAD_MAX 4096

typedef struct {
  int fd;
  int is_trigger;
  int head_done;
  size_t head_len;
  char head[HEAD_MAX];
  int match; /* how much of PATTERN the last bytes matched */
  long long events;
  const char *request;
  size_t request_len, request_sent;
} conn;

static int epfd, port;
static long long delivered, target;
static int ready_count;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sseload: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static conn *open_conn(const char *request, int is_trigger) {
  conn *c = calloc(1, sizeof *c);
  if (!c) die("out of memory");
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) die("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
    die("connect: %s", strerror(errno));
  c->is_trigger = is_trigger;
  c->request = request;
  c->request_len = strlen(request);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
  return c;
}

static void on_writable(conn *c) {
  while (c->request_sent < c->request_len) {
    ssize_t n = write(c->fd, c->request + c->request_sent, c->request_len - c->request_sent);
    if (n < 0) {
      if (errno == EAGAIN) return;
      die("write: %s", strerror(errno));
    }
    c->request_sent += (size_t)n;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Counts PATTERN occurrences in buf, carrying a partial match across reads. */
static void count_events(conn *c, const char *buf, size_t n) {
  int m = c->match;
  for (size_t i = 0; i < n; i++) {
    char ch = buf[i];
    if (ch == PATTERN[m]) {
      if (++m == PATTERN_LEN) {
        c->events++;
        delivered++;
        m = 0;
      }
    } else {
      m = ch == '\n' ? 1 : 0; /* "\n" is the only way to restart the pattern */
    }
  }
  c->match = m;
}

static void on_readable(conn *c) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN) return;
      die("read: %s", strerror(errno));
    }
    if (n == 0) {
      if (c->is_trigger) {
        close(c->fd);
        c->fd = -1;
        return;
      }
      die("a subscriber's connection was closed by the server");
    }
    size_t used = 0;
    if (!c->head_done) {
      size_t take = (size_t)n;
      if (c->head_len + take > HEAD_MAX - 1) take = HEAD_MAX - 1 - c->head_len;
      memcpy(c->head + c->head_len, buf, take);
      c->head_len += take;
      c->head[c->head_len] = 0;
      char *end = strstr(c->head, "\r\n\r\n");
      if (!end) {
        if (c->head_len >= HEAD_MAX - 1) die("response head too long");
        continue;
      }
      size_t head_bytes = (size_t)(end - c->head) + 4;
      used = head_bytes - (c->head_len - take);
      c->head_done = 1;
      if (strncmp(c->head, "HTTP/1.1 200", 12) != 0) die("expected 200, got: %.40s", c->head);
      if (!c->is_trigger) {
        if (!strcasestr(c->head, "\r\ncontent-type: text/event-stream"))
          die("not an event stream: %s", c->head);
        ready_count++;
      }
      /* The body starts on a fresh line for counting purposes. */
      c->match = 1;
    }
    if (!c->is_trigger) count_events(c, buf + used, (size_t)n - used);
  }
}

static void run_until(long long deadline, int (*done)(void)) {
  struct epoll_event events[256];
  while (!done()) {
    if (now_ns() > deadline) return;
    int n = epoll_wait(epfd, events, 256, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      conn *c = events[i].data.ptr;
      if (c->fd < 0) continue;
      if (events[i].events & (EPOLLERR | EPOLLHUP) && !(events[i].events & EPOLLIN))
        die("connection error");
      if (events[i].events & EPOLLOUT) on_writable(c);
      if (events[i].events & EPOLLIN) on_readable(c);
    }
  }
}

static int subscribers;
static int all_ready(void) { return ready_count == subscribers; }
static int all_delivered(void) { return delivered >= target; }

int main(int argc, char **argv) {
  if (argc != 4) die("usage: sseload <port> <subscribers> <messages>");
  port = atoi(argv[1]);
  subscribers = atoi(argv[2]);
  long long messages = atoll(argv[3]);
  if (port <= 0 || subscribers <= 0 || messages <= 0) die("bad arguments");
  epfd = epoll_create1(0);
  static const char subscribe[] =
      "GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
  for (int i = 0; i < subscribers; i++) {
    open_conn(subscribe, 0);
    if (i % 100 == 99) run_until(now_ns() + 20000000LL, all_ready); /* pace the connects */
  }
  run_until(now_ns() + 20000000000LL, all_ready);
  if (!all_ready()) die("only %d of %d subscribers connected", ready_count, subscribers);
  delivered = 0; /* events before the burst (none expected) do not count */
  target = (long long)subscribers * messages;
  char trigger[128];
  snprintf(trigger, sizeof trigger,
           "GET /burst/%lld HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", messages);
  printf("@start\n"); /* the runner samples the server's CPU at @start and @end */
  fflush(stdout);
  long long t0 = now_ns();
  open_conn(trigger, 1);
  run_until(t0 + 60000000000LL, all_delivered);
  long long t1 = now_ns();
  printf("@end\n");
  fflush(stdout);
  if (delivered < target) die("%lld of %lld deliveries arrived within 60 s", delivered, target);
  if (delivered > target) die("%lld deliveries, more than the %lld sent", delivered, target);
  printf("{\"mode\":\"sse-burst\",\"rate\":%.2f,\"delivered\":%lld,\"total\":%lld,\"count\":%lld}\n",
         (double)delivered * 1e9 / (double)(t1 - t0), delivered, target, delivered);
  return 0;
}
