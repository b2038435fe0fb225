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
#include <stddef.h> /* the rest comes with wsclient.h, included below conn */

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
static long poll_ns; /* sleep between event-loop passes (fan-out deliveries only) */

#define WS_PROG "wsload"
#define WS_MAX_MESSAGE PAYLOAD_LEN
#define WS_MAX_MESSAGE_EXPECT "%d"
#define WS_EPFD(c) epfd
#define WS_PORT(c) port
#include "wsclient.h"

static void fail(conn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "wsload: connection %d (%s%s): ", c->id, c->path, c->publisher ? ", publisher" : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void send_message(conn *c) {
  c->in_flight = 1;
  send_bytes(c, c->frame, c->frame_len);
}

static void on_connected(conn *c) { send_handshake(c, c->path); }

static void on_handshake_data(conn *c) {
  if (!handshake_done(c)) return;
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

/* A text or continuation frame: every message is PAYLOAD_LEN bytes of 'x'. */
static void on_data_frame(conn *c, int op, int fin, const unsigned char *payload, size_t len) {
  if (op == 1) c->in_msg = 1, c->msg_len = 0;
  for (size_t i = 0; i < len; i++)
    if (payload[i] != 'x') fail(c, "message content differs from the %d-byte payload sent", PAYLOAD_LEN);
  c->msg_len += len;
  if (fin) {
    if (c->msg_len != PAYLOAD_LEN) fail(c, "got a message of %zu bytes, expected %d", c->msg_len, PAYLOAD_LEN);
    c->in_msg = 0;
    on_message(c);
  }
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
  conn *c = calloc(1, sizeof *c);
  if (!c) die("out of memory");
  c->id = nconns;
  c->path = path;
  c->publisher = publisher;
  c->fd = -1;
  init_keys(c);
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

/* "@start" / "@end" on stdout, flushed at once: the runner samples the server's CPU there. */
static void mark(const char *what) {
  printf("@%s\n", what);
  fflush(stdout);
}

int main(int argc, char **argv) {
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
  port = (int)parse_num(argv[2], "port", 1);
  count = parse_num(argv[3], mode == MODE_ECHO ? "connections" : "subscribers", 1);
  amount = parse_num(argv[4], mode == MODE_ECHO ? "seconds" : "messages", 1);
  if (port > 65535) die("bad port %d", port);
  setup_process();
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
    mark("start");
    t0 = now_ns();
    run_until(t0 + amount * 1000000000LL, NULL);
    t1 = now_ns();
    mark("end");
    running = 0;
    printf("{\"mode\":\"echo\",\"rate\":%.2f,\"count\":%lld}\n",
           (double)(received_total - start) * 1e9 / (double)(t1 - t0), received_total - start);
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
    mark("start");
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
    mark("end");
    for (int i = 0; i < nconns - 1; i++)
      if (conns[i]->received != amount)
        fail(conns[i], "subscriber got %lld messages, expected %lld", conns[i]->received, amount);
    qsort(lat, (size_t)amount, sizeof *lat, cmp_ll);
    printf("{\"mode\":\"fanout-paced\",\"rate\":%.2f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f,"
           "\"delivered\":%lld,\"total\":%lld,\"count\":%lld}\n",
           (double)delivered * 1e9 / (double)(t_last - t0), percentile_ms(lat, amount, 0.5),
           percentile_ms(lat, amount, 0.99), (double)lat[amount - 1] / 1e6, delivered, total,
           delivered);
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
    mark("start");
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
    mark("end");
    if (delivered != total)
      die("timed out after 60 s: %lld of %lld deliveries arrived", delivered, total);
    for (int i = 0; i < nconns - 1; i++)
      if (conns[i]->received != amount)
        fail(conns[i], "subscriber got %lld messages, expected %lld", conns[i]->received, amount);
    printf("{\"mode\":\"fanout\",\"rate\":%.2f,\"delivered\":%lld,\"total\":%lld,\"count\":%lld}\n",
           (double)delivered * 1e9 / (double)(t_last - t0), delivered, total, delivered);
  }
  fflush(stdout);
  return 0;
}
