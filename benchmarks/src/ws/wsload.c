/* wsload: WebSocket load client for the benchmarks (what wrk is for HTTP): one thread, epoll,
 * non-blocking sockets with TCP_NODELAY, only libc. Same CLI, semantics and output as client.mjs:
 *
 *   wsload echo <port> <connections> <seconds>    -> {"mode":"echo","rate":<messages/s>}
 *       each connection (path /echo) keeps exactly one 32-byte text message in flight and sends
 *       the next when its echo arrives; counted over <seconds> after a 1 s warm-up.
 *   wsload fanout <port> <subscribers> <messages> -> {"mode":"fanout","rate":...,"delivered":...,"total":...}
 *       <subscribers> connections on /sub, one publisher on /echo sends <messages> text frames
 *       "pub:" + 32 bytes; the server publishes the 32 bytes to every subscriber. Rate =
 *       deliveries / time until every subscriber got all <messages> (read in passes 0.2 ms
 *       apart, see FANOUT_POLL_NS).
 *   wsload fanout-paced <port> <subscribers> <messages>
 *                                                 -> {"mode":"fanout-paced","rate":...,"p50Ms":...,"p99Ms":...,"maxMs":...,"delivered":...,"total":...}
 *       the same connections and frames, but the publisher sends ONE frame, waits until every
 *       subscriber got it, then sends the next: no burst for the server to coalesce, so this is
 *       the cost of one publish. Rate = deliveries / time from the first send to the last
 *       delivery; p50Ms/p99Ms/maxMs = per message, send to the last subscriber receiving it
 *       (read in the same 0.2 ms passes as fanout, so only the pacing differs). A subscriber
 *       getting a message before it was sent, or a message not reaching every subscriber
 *       within 10 s, is a failure.
 *
 * Real RFC 6455 client: random key, checks "HTTP/1.1 101" and Sec-WebSocket-Accept (SHA-1 and
 * base64 below), masked frames (one random mask key per connection), full frame parsing (2/4/10
 * byte headers, fragmentation, frames split across reads), pong for ping. Any failure (refused,
 * reset, close frame, wrong message size or content, timeout) prints a message on stderr and
 * exits 1, never a rate. Build: cc -O2 -o wsload wsload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_LEN 32
#define RBUF_CAP 16384
#define MAX_EVENTS 512
#define CONNECT_TIMEOUT_NS 10000000000LL
#define FANOUT_TIMEOUT_NS 60000000000LL
/* Fan-out: sleep this long between event-loop passes while deliveries arrive. Reading each
 * delivery the moment it lands costs a wakeup + read per message and makes every server send()
 * pay to wake the client (measured: uWebSockets.js fell from ~280k to ~150-200k deliveries/s,
 * with twice the server CPU). The sleep adds at most ~0.2 ms to a run of ~1 s. Echo stays eager:
 * there it only adds latency. */
#define FANOUT_POLL_NS 200000L
#define PACED_MESSAGE_TIMEOUT_NS 10000000000LL

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN };
enum { MODE_ECHO, MODE_FANOUT, MODE_PACED };

typedef struct {
  int fd, state, id, publisher, in_flight;
  const char *path;
  unsigned char mask[4];
  char key[25], accept[29];
  unsigned char rbuf[RBUF_CAP];
  size_t rlen;
  unsigned char *wbuf;
  size_t wlen, wcap;
  int want_out;
  unsigned char frame[64]; /* the prebuilt masked data frame this connection sends */
  size_t frame_len;
  int in_msg;          /* inside a fragmented message */
  size_t msg_len;      /* bytes of the current message so far */
  long long received;  /* complete messages */
} conn;

static int mode, port, epfd;
static long long count, amount;
static conn **conns;
static int nconns, opened;
static int running;                  /* echo: send the next message on each echo */
static long long received_total;     /* echo: all echoes, warm-up included */
static long long delivered, total;   /* fanout, fanout-paced */
static long long target;             /* fanout, fanout-paced: deliveries to wait for */
static long long t_last;             /* fanout, fanout-paced: time delivered reached target */
static long long sent;               /* fanout-paced: messages the publisher has sent */
static FILE *urandom;
static long poll_ns; /* sleep between event-loop passes (fan-out deliveries only) */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wsload: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void fail(conn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "wsload: connection %d (%s%s): ", c->id, c->path, c->publisher ? ", publisher" : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void random_bytes(void *buf, size_t n) {
  if (fread(buf, 1, n, urandom) != n) die("cannot read /dev/urandom");
}

/* ---- SHA-1 (FIPS 180-1) and base64, just enough for Sec-WebSocket-Accept ---- */

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  size_t padded = ((len + 8) / 64 + 1) * 64, i;
  unsigned char *m = calloc(padded, 1);
  if (!m) die("out of memory");
  memcpy(m, msg, len);
  m[len] = 0x80;
  for (i = 0; i < 8; i++) m[padded - 1 - i] = (unsigned char)((uint64_t)len * 8 >> (8 * i));
  for (size_t off = 0; off < padded; off += 64) {
    uint32_t w[80], a, b, c, d, e;
    for (i = 0; i < 16; i++)
      w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
             (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
    for (i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (i = 0; i < 80; i++) {
      uint32_t f, k, t;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999u;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1u;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
      else f = b ^ c ^ d, k = 0xCA62C1D6u;
      t = ROL(a, 5) + f + e + k + w[i];
      e = d, d = c, c = ROL(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  free(m);
  for (i = 0; i < 20; i++) out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void base64(const unsigned char *in, size_t len, char *out) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i, o = 0;
  for (i = 0; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = tbl[v >> 18], out[o++] = tbl[v >> 12 & 63], out[o++] = tbl[v >> 6 & 63], out[o++] = tbl[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = tbl[v >> 18], out[o++] = tbl[v >> 12 & 63], out[o++] = '=', out[o++] = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = tbl[v >> 18], out[o++] = tbl[v >> 12 & 63], out[o++] = tbl[v >> 6 & 63], out[o++] = '=';
  }
  out[o] = 0;
}

/* ---- sockets ---- */

static void set_events(conn *c, uint32_t events) {
  struct epoll_event ev;
  ev.events = events;
  ev.data.ptr = c;
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail(c, "epoll_ctl: %s", strerror(errno));
}

/* Writes now if nothing is queued; queues what the socket does not take and waits for EPOLLOUT. */
static void send_bytes(conn *c, const unsigned char *buf, size_t n) {
  if (c->wlen == 0) {
    ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, "send: %s", strerror(errno));
      w = 0;
    }
    if ((size_t)w == n) return;
    buf += w, n -= (size_t)w;
  }
  if (c->wlen + n > c->wcap) {
    c->wcap = (c->wlen + n) * 2;
    c->wbuf = realloc(c->wbuf, c->wcap);
    if (!c->wbuf) die("out of memory");
  }
  memcpy(c->wbuf + c->wlen, buf, n);
  c->wlen += n;
  if (!c->want_out) c->want_out = 1, set_events(c, EPOLLIN | EPOLLOUT);
}

static void flush(conn *c) {
  while (c->wlen > 0) {
    ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      fail(c, "send: %s", strerror(errno));
    }
    memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
    c->wlen -= (size_t)w;
  }
  if (c->want_out) c->want_out = 0, set_events(c, EPOLLIN);
}

/* A masked client frame (FIN + opcode) into out; returns its length. payload length <= 125. */
static size_t build_frame(conn *c, int opcode, const unsigned char *payload, size_t len, unsigned char *out) {
  out[0] = (unsigned char)(0x80 | opcode);
  out[1] = (unsigned char)(0x80 | len);
  memcpy(out + 2, c->mask, 4);
  for (size_t i = 0; i < len; i++) out[6 + i] = payload[i] ^ c->mask[i & 3];
  return 6 + len;
}

static void send_message(conn *c) {
  c->in_flight = 1;
  send_bytes(c, c->frame, c->frame_len);
}

static void start_connect(conn *c) {
  struct sockaddr_in addr;
  struct epoll_event ev;
  int one = 1;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) fail(c, "socket: %s", strerror(errno));
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
    fail(c, "connect to 127.0.0.1:%d: %s", port, strerror(errno));
  c->state = ST_CONNECTING;
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = c;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) fail(c, "epoll_ctl: %s", strerror(errno));
}

static void on_connected(conn *c) {
  char req[512];
  int err = 0, n;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) fail(c, "connect to 127.0.0.1:%d: %s", port, strerror(err));
  n = snprintf(req, sizeof req,
               "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
               c->path, port, c->key);
  c->state = ST_HANDSHAKE;
  set_events(c, EPOLLIN);
  send_bytes(c, (unsigned char *)req, (size_t)n);
}

/* ---- handshake response ---- */

static int has_token(const char *value, size_t len, const char *token) {
  size_t tl = strlen(token), i = 0;
  while (i < len) {
    size_t s, e;
    while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ',')) i++;
    s = i;
    while (i < len && value[i] != ',') i++;
    e = i;
    while (e > s && (value[e - 1] == ' ' || value[e - 1] == '\t')) e--;
    if (e - s == tl && strncasecmp(value + s, token, tl) == 0) return 1;
  }
  return 0;
}

static void parse_frames(conn *c);

static void on_handshake_data(conn *c) {
  char *head = (char *)c->rbuf, *end, *line, *eol;
  int upgrade = 0, connection = 0, accept = 0;
  end = memmem(head, c->rlen, "\r\n\r\n", 4);
  if (!end) {
    if (c->rlen == RBUF_CAP) fail(c, "handshake response headers larger than %d bytes", RBUF_CAP);
    return;
  }
  eol = memmem(head, (size_t)(end - head) + 2, "\r\n", 2);
  if (!(eol - head >= 12 && memcmp(head, "HTTP/1.1 101", 12) == 0 && (eol - head == 12 || head[12] == ' ')))
    fail(c, "handshake refused: \"%.*s\"", (int)(eol - head), head);
  for (line = eol + 2; line < end + 2; line = eol + 2) {
    char *colon, *v;
    size_t vl;
    eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
    colon = memchr(line, ':', (size_t)(eol - line));
    if (!colon) fail(c, "malformed handshake header line \"%.*s\"", (int)(eol - line), line);
    for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
    }
    vl = (size_t)(eol - v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
#define IS(name) ((size_t)(colon - line) == strlen(name) && strncasecmp(line, name, strlen(name)) == 0)
    if (IS("upgrade")) upgrade = vl == 9 && strncasecmp(v, "websocket", 9) == 0;
    else if (IS("connection")) connection = has_token(v, vl, "upgrade");
    else if (IS("sec-websocket-accept")) {
      if (vl != 28 || memcmp(v, c->accept, 28) != 0)
        fail(c, "wrong Sec-WebSocket-Accept \"%.*s\", expected \"%s\"", (int)vl, v, c->accept);
      accept = 1;
    } else if (IS("sec-websocket-extensions") || IS("sec-websocket-protocol"))
      fail(c, "server chose \"%.*s\", which was not offered", (int)(eol - line), line);
#undef IS
  }
  if (!upgrade) fail(c, "handshake response without \"Upgrade: websocket\"");
  if (!connection) fail(c, "handshake response without \"Connection: Upgrade\"");
  if (!accept) fail(c, "handshake response without Sec-WebSocket-Accept");
  c->rlen -= (size_t)(end + 4 - head);
  memmove(c->rbuf, end + 4, c->rlen);
  c->state = ST_OPEN;
  opened++;
  parse_frames(c);
}

/* ---- frames ---- */

static void on_message(conn *c) {
  c->received++;
  if (mode == MODE_ECHO) {
    if (!c->in_flight) fail(c, "got a message with none in flight");
    c->in_flight = 0;
    received_total++;
    if (running) send_message(c);
  } else {
    if (c->publisher) fail(c, "publisher got a message; expected none");
    if (c->received > amount) fail(c, "subscriber got more than %lld messages", amount);
    if (mode == MODE_PACED && c->received > sent)
      fail(c, "subscriber got message %lld, but only %lld were sent", c->received, sent);
    if (++delivered == target) t_last = now_ns();
  }
}

static void parse_frames(conn *c) {
  unsigned char *p = c->rbuf;
  size_t avail = c->rlen;
  while (avail >= 2) {
    int fin = p[0] >> 7, rsv = p[0] & 0x70, op = p[0] & 0x0F, masked = p[1] >> 7;
    uint64_t len = p[1] & 0x7F;
    size_t hdr = len == 126 ? 4 : len == 127 ? 10 : 2, i;
    if (avail < hdr) break;
    if (len == 126) len = (uint64_t)p[2] << 8 | p[3];
    else if (len == 127)
      for (len = 0, i = 2; i < 10; i++) len = len << 8 | p[i];
    if (rsv) fail(c, "frame with RSV bits 0x%x set (no extension negotiated)", rsv);
    if (masked) fail(c, "server sent a masked frame");
    if (op >= 8) {
      if (op > 10) fail(c, "frame with unknown control opcode %d", op);
      if (!fin || len > 125) fail(c, "fragmented or oversized control frame (opcode %d)", op);
    } else {
      if (op > 2) fail(c, "frame with unknown opcode %d", op);
      if (op == 0 && !c->in_msg) fail(c, "continuation frame outside a message");
      if (op != 0 && c->in_msg) fail(c, "new data frame inside a fragmented message");
      if (op == 2) fail(c, "got a binary message, expected text");
      if ((op == 0 ? c->msg_len : 0) + len > PAYLOAD_LEN)
        fail(c, "got a message of at least %llu bytes, expected %d",
             (unsigned long long)((op == 0 ? c->msg_len : 0) + len), PAYLOAD_LEN);
    }
    if (avail < hdr + len) break; /* rest of this frame in a later read (len <= 125 here) */
    if (op == 8) {
      int code = len >= 2 ? p[hdr] << 8 | p[hdr + 1] : 1005;
      fail(c, "server closed the connection (close code %d%s%.*s)", code, len > 2 ? ", " : "",
           len > 2 ? (int)len - 2 : 0, (char *)p + hdr + 2);
    } else if (op == 9) {
      unsigned char pong[6 + 125];
      send_bytes(c, pong, build_frame(c, 10, p + hdr, (size_t)len, pong));
    } else if (op < 8) {
      if (op == 1) c->in_msg = 1, c->msg_len = 0;
      for (i = 0; i < len; i++)
        if (p[hdr + i] != 'x') fail(c, "message content differs from the %d-byte payload sent", PAYLOAD_LEN);
      c->msg_len += (size_t)len;
      if (fin) {
        if (c->msg_len != PAYLOAD_LEN)
          fail(c, "got a message of %zu bytes, expected %d", c->msg_len, PAYLOAD_LEN);
        c->in_msg = 0;
        on_message(c);
      }
    } /* op 10 (pong): ignored */
    p += hdr + len, avail -= hdr + len;
  }
  if (avail && p != c->rbuf) memmove(c->rbuf, p, avail);
  c->rlen = avail;
}

static void on_readable(conn *c) {
  ssize_t n = read(c->fd, c->rbuf + c->rlen, RBUF_CAP - c->rlen);
  if (n == 0) fail(c, "connection closed by the server (EOF)%s", c->state == ST_HANDSHAKE ? " during the handshake" : "");
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    fail(c, "read: %s", strerror(errno));
  }
  c->rlen += (size_t)n;
  if (c->state == ST_HANDSHAKE) on_handshake_data(c);
  else parse_frames(c);
}

static void on_event(conn *c, uint32_t events) {
  if (c->state == ST_CONNECTING) {
    on_connected(c);
    return;
  }
  if (events & EPOLLOUT) flush(c);
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
}

/* Runs the event loop until deadline (absolute, ns) or until done() is true. */
static void run_until(long long deadline, int (*done)(void)) {
  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    long long now = now_ns();
    int n, i, timeout;
    if ((done && done()) || now >= deadline) return;
    timeout = (int)((deadline - now + 999999) / 1000000);
    n = epoll_wait(epfd, evs, MAX_EVENTS, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait: %s", strerror(errno));
    }
    for (i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
    if (poll_ns && !(done && done())) {
      struct timespec ts = {0, poll_ns};
      nanosleep(&ts, NULL);
    }
  }
}

static int all_opened(void) { return opened == nconns; }
static int all_delivered(void) { return delivered == target; }

static conn *new_conn(const char *path, int publisher) {
  unsigned char key[16], digest[20];
  char buf[64];
  conn *c = calloc(1, sizeof *c);
  if (!c) die("out of memory");
  c->id = nconns;
  c->path = path;
  c->publisher = publisher;
  c->fd = -1;
  random_bytes(key, sizeof key);
  random_bytes(c->mask, sizeof c->mask);
  base64(key, sizeof key, c->key);
  snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
  sha1((unsigned char *)buf, strlen(buf), digest);
  base64(digest, sizeof digest, c->accept);
  {
    unsigned char payload[4 + PAYLOAD_LEN];
    size_t off = publisher ? 4 : 0;
    memcpy(payload, "pub:", 4);
    memset(payload + off, 'x', PAYLOAD_LEN);
    c->frame_len = build_frame(c, 1, payload, off + PAYLOAD_LEN, c->frame);
  }
  conns[nconns++] = c;
  return c;
}

/* Opens n connections on path, batch at a time, so the server's listen backlog never overflows. */
static void connect_all(const char *path, long long n, int batch, int publisher) {
  for (long long i = 0; i < n; i += batch) {
    long long k = n - i < batch ? n - i : batch;
    for (long long j = 0; j < k; j++) start_connect(new_conn(path, publisher));
    run_until(now_ns() + CONNECT_TIMEOUT_NS, all_opened);
    if (!all_opened())
      die("timed out connecting: %d of %d WebSocket connections open after 10 s", opened, nconns);
  }
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, in ms. */
static double percentile_ms(const long long *sorted, long long n, double q) {
  long long rank = (long long)(q * (double)n + 0.999999999);
  if (rank < 1) rank = 1;
  return (double)sorted[rank - 1] / 1e6;
}

static long long parse_num(const char *s, const char *what) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*s == 0 || *end != 0 || v <= 0) die("bad %s \"%s\"", what, s);
  return v;
}

int main(int argc, char **argv) {
  struct rlimit rl;
  if (argc != 5 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "fanout") != 0 &&
                    strcmp(argv[1], "fanout-paced") != 0)) {
    fprintf(stderr,
            "usage: wsload echo <port> <connections> <seconds>\n"
            "       wsload fanout <port> <subscribers> <messages>\n"
            "       wsload fanout-paced <port> <subscribers> <messages>\n");
    return 2;
  }
  mode = strcmp(argv[1], "echo") == 0     ? MODE_ECHO
         : strcmp(argv[1], "fanout") == 0 ? MODE_FANOUT
                                          : MODE_PACED;
  port = (int)parse_num(argv[2], "port");
  count = parse_num(argv[3], mode == MODE_ECHO ? "connections" : "subscribers");
  amount = parse_num(argv[4], mode == MODE_ECHO ? "seconds" : "messages");
  if (port > 65535) die("bad port %d", port);
  signal(SIGPIPE, SIG_IGN);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (!(urandom = fopen("/dev/urandom", "rb"))) die("cannot open /dev/urandom: %s", strerror(errno));
  if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1: %s", strerror(errno));
  conns = calloc((size_t)count + 1, sizeof *conns);
  if (!conns) die("out of memory");

  if (mode == MODE_ECHO) {
    long long start, t0, t1;
    connect_all("/echo", count, 50, 0);
    running = 1;
    for (int i = 0; i < nconns; i++) send_message(conns[i]);
    run_until(now_ns() + 1000000000LL, NULL); /* warm-up */
    start = received_total;
    t0 = now_ns();
    run_until(t0 + amount * 1000000000LL, NULL);
    t1 = now_ns();
    running = 0;
    printf("{\"mode\":\"echo\",\"rate\":%.2f}\n", (double)(received_total - start) * 1e9 / (double)(t1 - t0));
  } else if (mode == MODE_PACED) {
    long long t0, *lat;
    conn *pub;
    connect_all("/sub", count, 100, 0);
    connect_all("/echo", 1, 1, 1);
    pub = conns[nconns - 1];
    total = count * amount;
    lat = malloc((size_t)amount * sizeof *lat);
    if (!lat) die("out of memory");
    run_until(now_ns() + 500000000LL, NULL); /* let the server finish subscribing */
    poll_ns = FANOUT_POLL_NS;
    t0 = now_ns();
    while (sent < amount) {
      long long ts = now_ns();
      target = (sent + 1) * count;
      sent++;
      send_message(pub);
      run_until(ts + PACED_MESSAGE_TIMEOUT_NS, all_delivered);
      if (delivered != target)
        die("timed out after 10 s: message %lld of %lld reached %lld of %lld subscribers", sent,
            amount, delivered - (sent - 1) * count, count);
      lat[sent - 1] = t_last - ts;
    }
    for (int i = 0; i < nconns - 1; i++)
      if (conns[i]->received != amount)
        fail(conns[i], "subscriber got %lld messages, expected %lld", conns[i]->received, amount);
    qsort(lat, (size_t)amount, sizeof *lat, cmp_ll);
    printf("{\"mode\":\"fanout-paced\",\"rate\":%.2f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f,"
           "\"delivered\":%lld,\"total\":%lld}\n",
           (double)delivered * 1e9 / (double)(t_last - t0), percentile_ms(lat, amount, 0.5),
           percentile_ms(lat, amount, 0.99), (double)lat[amount - 1] / 1e6, delivered, total);
  } else {
    long long t0;
    conn *pub;
    unsigned char *batch;
    connect_all("/sub", count, 100, 0);
    connect_all("/echo", 1, 1, 1);
    pub = conns[nconns - 1];
    total = target = count * amount;
    run_until(now_ns() + 500000000LL, NULL); /* let the server finish subscribing */
    batch = malloc(50 * pub->frame_len);
    if (!batch) die("out of memory");
    t0 = now_ns();
    while (sent < amount) { /* 50 frames per write, then let the event loop run, as client.mjs */
      size_t n = 0;
      for (int k = 0; k < 50 && sent < amount; k++, sent++, n += pub->frame_len)
        memcpy(batch + n, pub->frame, pub->frame_len);
      send_bytes(pub, batch, n);
      {
        struct epoll_event evs[MAX_EVENTS];
        int m = epoll_wait(epfd, evs, MAX_EVENTS, 0);
        for (int i = 0; i < m; i++) on_event(evs[i].data.ptr, evs[i].events);
      }
    }
    poll_ns = FANOUT_POLL_NS;
    run_until(t0 + FANOUT_TIMEOUT_NS, all_delivered);
    if (delivered != total)
      die("timed out after 60 s: %lld of %lld deliveries arrived", delivered, total);
    for (int i = 0; i < nconns - 1; i++)
      if (conns[i]->received != amount)
        fail(conns[i], "subscriber got %lld messages, expected %lld", conns[i]->received, amount);
    printf("{\"mode\":\"fanout\",\"rate\":%.2f,\"delivered\":%lld,\"total\":%lld}\n",
           (double)delivered * 1e9 / (double)(t_last - t0), delivered, total);
  }
  fflush(stdout);
  return 0;
}
