/* wsclient.h: the WebSocket client primitives that wsload.c and cluster/clusterload.c share:
 * connect, RFC 6455 handshake (SHA-1 and base64 for Sec-WebSocket-Accept), masked frame
 * building, frame parsing, the write queue, timing and the process setup. All functions are
 * static: each program compiles its own copy (no extra build step, still one `cc` per program).
 *
 * The program defines before including it:
 *   WS_PROG            its name, the prefix of die()'s messages ("wsload")
 *   RBUF_CAP           the size of conn.rbuf
 *   WS_MAX_MESSAGE     the longest message accepted, with WS_MAX_MESSAGE_EXPECT the end of the
 *                      error for a longer one ("%d" or "at most %d", given WS_MAX_MESSAGE)
 *   WS_EPFD(c)         the epoll fd that c is registered with
 *   WS_PORT(c)         the port that c connects to (on 127.0.0.1)
 *   ST_CONNECTING, ST_HANDSHAKE   connection states
 *   conn               a struct with at least: fd, state, mask[4], key[25], accept[29],
 *                      rbuf[RBUF_CAP], rlen, wbuf, wlen, wcap, want_out, in_msg, msg_len
 * optionally WS_LOCK_URANDOM() / WS_UNLOCK_URANDOM() (threads) and WS_ON_READ(c) (called after
 * every read that got bytes). And it defines these, which this file calls:
 *   fail(c, fmt, ...)                      reports c's failure and exits 1
 *   on_connected(c)                        the TCP connect finished (see send_handshake())
 *   on_handshake_data(c)                   new bytes in rbuf during the handshake (see
 *                                          handshake_done())
 *   on_data_frame(c, op, fin, payload, len) a complete text or continuation frame (op 1 or 0,
 *                                          len <= WS_MAX_MESSAGE overall, checked here)
 */
#ifndef WSCLIENT_H
#define WSCLIENT_H

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

#ifndef WS_LOCK_URANDOM
#define WS_LOCK_URANDOM()
#define WS_UNLOCK_URANDOM()
#endif
#ifndef WS_ON_READ
#define WS_ON_READ(c)
#endif

static void fail(conn *c, const char *fmt, ...);
static void on_connected(conn *c);
static void on_handshake_data(conn *c);
static void on_data_frame(conn *c, int op, int fin, const unsigned char *payload, size_t len);

static FILE *urandom;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(WS_PROG ": ", stderr);
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
  size_t got;
  WS_LOCK_URANDOM();
  got = fread(buf, 1, n, urandom);
  WS_UNLOCK_URANDOM();
  if (got != n) die("cannot read /dev/urandom");
}

/* SIGPIPE ignored, the open-files limit raised to its maximum, /dev/urandom opened. */
static void setup_process(void) {
  struct rlimit rl;
  signal(SIGPIPE, SIG_IGN);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (!(urandom = fopen("/dev/urandom", "rb"))) die("cannot open /dev/urandom: %s", strerror(errno));
}

static long long parse_num(const char *s, const char *what, long long min) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*s == 0 || *end != 0 || v < min) die("bad %s \"%s\"", what, s);
  return v;
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values (ns), in ms. */
static double percentile_ms(const long long *sorted, long long n, double q) {
  long long rank = (long long)(q * (double)n + 0.999999999);
  if (rank < 1) rank = 1;
  return (double)sorted[rank - 1] / 1e6;
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

/* c's random Sec-WebSocket-Key, the Sec-WebSocket-Accept it expects, and its mask key. */
static void init_keys(conn *c) {
  unsigned char key[16], digest[20];
  char buf[64];
  random_bytes(key, sizeof key);
  random_bytes(c->mask, sizeof c->mask);
  base64(key, sizeof key, c->key);
  snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
  sha1((unsigned char *)buf, strlen(buf), digest);
  base64(digest, sizeof digest, c->accept);
}

/* ---- sockets ---- */

static void set_events(conn *c, uint32_t events) {
  struct epoll_event ev;
  ev.events = events;
  ev.data.ptr = c;
  if (epoll_ctl(WS_EPFD(c), EPOLL_CTL_MOD, c->fd, &ev) < 0) fail(c, "epoll_ctl: %s", strerror(errno));
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

static void start_connect(conn *c) {
  struct sockaddr_in addr;
  struct epoll_event ev;
  int one = 1;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) fail(c, "socket: %s", strerror(errno));
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)WS_PORT(c));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
    fail(c, "connect to 127.0.0.1:%d: %s", WS_PORT(c), strerror(errno));
  c->state = ST_CONNECTING;
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = c;
  if (epoll_ctl(WS_EPFD(c), EPOLL_CTL_ADD, c->fd, &ev) < 0) fail(c, "epoll_ctl: %s", strerror(errno));
}

/* The TCP connection is up (or failed): sends the upgrade request for path. */
static void send_handshake(conn *c, const char *path) {
  char req[512];
  int err = 0, n;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) fail(c, "connect to 127.0.0.1:%d: %s", WS_PORT(c), strerror(err));
  n = snprintf(req, sizeof req,
               "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
               path, WS_PORT(c), c->key);
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

/* 0 while the response head is incomplete; 1 once it is there and valid (it is then removed from
 * rbuf, which keeps what followed it). Fails c on a refused or wrong handshake. */
static int handshake_done(conn *c) {
  char *head = (char *)c->rbuf, *end, *line, *eol;
  int upgrade = 0, connection = 0, accept = 0;
  end = memmem(head, c->rlen, "\r\n\r\n", 4);
  if (!end) {
    if (c->rlen == RBUF_CAP) fail(c, "handshake response headers larger than %d bytes", RBUF_CAP);
    return 0;
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
  return 1;
}

/* ---- frames ---- */

/* Parses the complete frames in rbuf: checks them, answers pings, fails on a close frame, and
 * hands text and continuation frames to on_data_frame(); keeps a partial frame for later. */
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
      if ((op == 0 ? c->msg_len : 0) + len > WS_MAX_MESSAGE)
        fail(c, "got a message of at least %llu bytes, expected " WS_MAX_MESSAGE_EXPECT,
             (unsigned long long)((op == 0 ? c->msg_len : 0) + len), WS_MAX_MESSAGE);
    }
    if (avail < hdr + len) break; /* rest of this frame in a later read (len <= WS_MAX_MESSAGE here) */
    if (op == 8) {
      int code = len >= 2 ? p[hdr] << 8 | p[hdr + 1] : 1005;
      fail(c, "server closed the connection (close code %d%s%.*s)", code, len > 2 ? ", " : "",
           len > 2 ? (int)len - 2 : 0, (char *)p + hdr + 2);
    } else if (op == 9) {
      unsigned char pong[6 + 125];
      send_bytes(c, pong, build_frame(c, 10, p + hdr, (size_t)len, pong));
    } else if (op < 8) {
      on_data_frame(c, op, fin, p + hdr, (size_t)len);
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
  WS_ON_READ(c);
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

#endif
