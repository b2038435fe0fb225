/* clusterload: load client for the cross-instance fan-out benchmark (pnpm bench:cluster), in C
 * so that it is not the bottleneck: epoll, non-blocking sockets with TCP_NODELAY, libc and
 * pthreads only. Same CLI, semantics and output as client.mjs:
 *
 *   clusterload <mummy|socketio> <burst|paced> <portA> <portB> <subscribers> <messages>
 *               [--threads T] [--warmup W] [--pids pid,pid,...]
 *
 * Opens <subscribers> WebSockets, half on instance A (portA), half on instance B (portB),
 * alternating, spread over T threads (default 2), each with its own epoll; then one publisher
 * connection on instance A, driven by the main thread. Protocols:
 *   mummy:    subscribers GET /sub, the publisher GET /pub; the publisher sends each message as
 *             a text frame, subscribers get the same text (cluster-mummy.js).
 *   socketio: Engine.IO 4 over WebSocket, as socket.io-client with transports: ['websocket']:
 *             GET /socket.io/?EIO=4&transport=websocket&role=sub|pub, open packet `0{...}`,
 *             CONNECT `40` to the main namespace, answered `40{...}`; pings `2` answered `3`.
 *             The publisher sends 42["pub","<message>"], subscribers get 42["m","<message>"]
 *             (cluster-socketio.js).
 * A message is 32 bytes of text: an 8-digit sequence number, ':', the publisher's
 * CLOCK_MONOTONIC time in ns (20 digits, set as the frame is built, just before it is written),
 * then 'xxx'. Each subscriber checks that it gets every message once and in order, never one
 * not sent yet, and records publish -> delivered latency (its read time minus the time in the
 * message; one machine, one clock) in a 1 µs histogram.
 *
 * First W messages (default 20) are a warm-up burst (waited for, not measured). Then:
 *   burst: the publisher sends <messages> as fast as it can (50 frames per write); rate =
 *          deliveries / time from the first send to the last delivery.
 *   paced: the publisher sends ONE message, waits until every subscriber got it, then sends
 *          the next; rate = deliveries / time from the first send to the last delivery.
 * Both print one JSON line: {"mode","rate","p50Ms","p99Ms","maxMs" (per delivery),
 * "lastP50Ms","lastP99Ms" (paced: per message, send to the last subscriber), "delivered",
 * "seconds", "cpuNs":[per pid: CPU time of all its threads over the measurement, from
 * /proc/<pid>/task/<tid>/schedstat], "clientCpuNs"}.
 * Subscriber threads read in passes 0.2 ms apart while messages arrive (as wsload.c does, see
 * POLL_NS there): reading every delivery the moment it lands costs each server send() a
 * wake-up of the client. So a latency includes up to 0.2 ms of the client's pass interval.
 * Any failure (refused, reset, close, wrong or missing message, timeout) prints a message on
 * stderr and exits 1, never a rate. Build: cc -O2 -pthread -o clusterload clusterload.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h> /* the rest comes with ../ws/wsclient.h, included below conn */

#define PAYLOAD_LEN 32
#define RBUF_CAP 16384
#define MSG_CAP 1024 /* largest message accepted (the Engine.IO open packet is ~100 bytes) */
#define MAX_EVENTS 512
#define CONNECT_BATCH 50
#define CONNECT_TIMEOUT_NS 20000000000LL
#define BURST_TIMEOUT_NS 120000000000LL
#define PACED_MESSAGE_TIMEOUT_NS 10000000000LL
#define POLL_NS 200000L
/* Latency histogram: 1 µs buckets up to 100 ms, then 1 ms buckets up to 120 s (and beyond, the
 * last). */
#define HIST_FINE 100000
#define HIST_BUCKETS (HIST_FINE + 120000 - 100)
#define MAX_PIDS 16

enum { P_MUMMY, P_SOCKETIO };
enum { M_BURST, M_PACED };
/* Connection states: TCP connecting, HTTP handshake, Engine.IO open packet awaited, namespace
 * CONNECT answer awaited, ready. */
enum { ST_CONNECTING, ST_HANDSHAKE, ST_EIO_OPEN, ST_SIO_CONNECT, ST_READY };

typedef struct loop loop;

typedef struct {
  int fd, state, id, publisher, port, side; /* side: 0 on instance A, 1 on B */
  loop *owner;
  unsigned char mask[4];
  char key[25], accept[29];
  unsigned char rbuf[RBUF_CAP];
  size_t rlen;
  unsigned char *wbuf;
  size_t wlen, wcap;
  int want_out;
  unsigned char msg[MSG_CAP]; /* the message being assembled from fragments */
  size_t msg_len;
  int in_msg;
  long long received; /* messages of the benchmark (not handshake or pings) */
} conn;

struct loop {
  pthread_t thread;
  int epfd;
  conn **conns;
  int n, ready;
  uint32_t *hist[2]; /* per-delivery latency on each side (instance A, B) */
  long long hist_count, hist_max_ns;
  long long now; /* read time of the current pass */
};

static int proto, mode, port_a, port_b, nthreads = 2;
static long long count, amount, warmup = 20;
static loop *loops;
static loop pub_loop;
static conn *pub;
static int notify_fd; /* eventfd: a subscriber thread tells the publisher the target is reached */
static int next_id;
static pthread_mutex_t urandom_lock = PTHREAD_MUTEX_INITIALIZER;
static int pids[MAX_PIDS], npids;

/* Shared between threads (__atomic builtins). */
static long long ready_total;   /* subscribers ready */
static long long delivered;     /* deliveries so far, warm-up included */
static long long target;        /* deliveries to wait for */
static long long t_last;        /* time delivered reached target */
static long long reached;       /* the target last reached (stored after t_last) */
static long long sent;          /* messages the publisher has sent */
static long long hist_from;     /* deliveries of messages with a sequence number above it count */
static int polling, stopping;

#define WS_PROG "clusterload"
#define WS_MAX_MESSAGE MSG_CAP
#define WS_MAX_MESSAGE_EXPECT "at most %d"
#define WS_EPFD(c) ((c)->owner->epfd)
#define WS_PORT(c) ((c)->port)
#define WS_LOCK_URANDOM() pthread_mutex_lock(&urandom_lock)
#define WS_UNLOCK_URANDOM() pthread_mutex_unlock(&urandom_lock)
#define WS_ON_READ(c) ((c)->owner->now = now_ns())
#include "../ws/wsclient.h"

static void fail(conn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "clusterload: connection %d (port %d, %s): ", c->id, c->port,
          c->publisher ? "publisher" : "subscriber");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void sleep_ns(long ns) {
  struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
  nanosleep(&ts, NULL);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_ACQ_REL)

static void send_text(conn *c, const char *text) {
  unsigned char frame[6 + 125];
  send_bytes(c, frame, build_frame(c, 1, (const unsigned char *)text, strlen(text), frame));
}

/* Message number seq of the publisher, framed for the protocol, into out; returns its length. */
static size_t build_message(long long seq, unsigned char *out) {
  char payload[PAYLOAD_LEN + 8], text[PAYLOAD_LEN + 24];
  int n;
  snprintf(payload, sizeof payload, "%08lld:%020lldxxx", seq % 100000000LL, now_ns());
  n = proto == P_SOCKETIO ? snprintf(text, sizeof text, "42[\"pub\",\"%s\"]", payload)
                          : snprintf(text, sizeof text, "%s", payload);
  return build_frame(pub, 1, (unsigned char *)text, (size_t)n, out);
}

static void on_connected(conn *c) {
  const char *path = proto == P_SOCKETIO ? (c->publisher ? "/socket.io/?EIO=4&transport=websocket&role=pub"
                                                         : "/socket.io/?EIO=4&transport=websocket&role=sub")
                                         : (c->publisher ? "/pub" : "/sub");
  send_handshake(c, path);
}

static void became_ready(conn *c) {
  c->state = ST_READY;
  c->owner->ready++;
}

static void on_handshake_data(conn *c) {
  if (!handshake_done(c)) return;
  if (proto == P_SOCKETIO) c->state = ST_EIO_OPEN;
  else became_ready(c);
  parse_frames(c);
}

/* ---- messages ---- */

static long long digits(const unsigned char *p, int n) {
  long long v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

/* A delivery of the benchmark's message p (PAYLOAD_LEN bytes) to subscriber c. */
static void on_delivery(conn *c, const unsigned char *p) {
  long long seq = digits(p, 8), ts = digits(p + 9, 20), lat, d;
  loop *l = c->owner;
  if (c->publisher) fail(c, "publisher got a message; expected none");
  if (seq < 0 || ts < 0 || p[8] != ':' || memcmp(p + 29, "xxx", 3) != 0)
    fail(c, "message \"%.*s\" is not one the publisher sent", PAYLOAD_LEN, p);
  c->received++;
  if (seq != c->received % 100000000LL)
    fail(c, "got message %lld, expected %lld (lost, duplicated or out of order)", seq, c->received);
  if (c->received > LOAD(sent)) fail(c, "got message %lld, but only %lld were sent", c->received, LOAD(sent));
  lat = l->now - ts;
  if (c->received > LOAD(hist_from)) {
    long long us = lat < 0 ? 0 : lat / 1000, b = us < HIST_FINE ? us : HIST_FINE + us / 1000 - 100;
    l->hist[c->side][b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
    l->hist_count++;
    if (lat > l->hist_max_ns) l->hist_max_ns = lat;
  }
  d = ADD(delivered, 1);
  if (d == LOAD(target)) {
    uint64_t one = 1;
    STORE(t_last, l->now);
    STORE(reached, d);
    if (write(notify_fd, &one, sizeof one) != sizeof one) die("eventfd write: %s", strerror(errno));
  }
}

static void on_message(conn *c, const unsigned char *p, size_t len) {
  if (proto == P_MUMMY) {
    if (len != PAYLOAD_LEN) fail(c, "got a message of %zu bytes, expected %d", len, PAYLOAD_LEN);
    on_delivery(c, p);
    return;
  }
  /* Engine.IO 4 packet types: 0 open, 1 close, 2 ping, 3 pong, 4 message (Socket.IO packet). */
  if (len == 1 && p[0] == '2') {
    send_text(c, "3");
  } else if (c->state == ST_EIO_OPEN) {
    if (len < 2 || p[0] != '0' || p[1] != '{') fail(c, "expected the Engine.IO open packet, got \"%.*s\"", (int)len, p);
    c->state = ST_SIO_CONNECT;
    send_text(c, "40");
  } else if (c->state == ST_SIO_CONNECT) {
    if (len < 3 || memcmp(p, "40{", 3) != 0) fail(c, "expected the Socket.IO CONNECT answer, got \"%.*s\"", (int)len, p);
    became_ready(c);
  } else if (len == 10 + PAYLOAD_LEN && memcmp(p, "42[\"m\",\"", 8) == 0 && memcmp(p + 8 + PAYLOAD_LEN, "\"]", 2) == 0) {
    on_delivery(c, p + 8);
  } else {
    fail(c, "unexpected Socket.IO packet \"%.*s\"", (int)(len > 200 ? 200 : len), p);
  }
}

/* A text or continuation frame: a whole message goes to on_message(), fragments are assembled. */
static void on_data_frame(conn *c, int op, int fin, const unsigned char *payload, size_t len) {
  if (op == 1 && fin) {
    on_message(c, payload, len); /* the usual case: no copy */
  } else {
    if (op == 1) c->in_msg = 1, c->msg_len = 0;
    memcpy(c->msg + c->msg_len, payload, len);
    c->msg_len += len;
    if (fin) c->in_msg = 0, on_message(c, c->msg, c->msg_len);
  }
}

/* One pass of a loop's events, waiting at most timeout_ms; returns how many there were. The
 * publisher's loop also watches notify_fd (data.ptr NULL). */
static int pass(loop *l, int timeout_ms) {
  struct epoll_event evs[MAX_EVENTS];
  int n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    die("epoll_wait: %s", strerror(errno));
  }
  for (int i = 0; i < n; i++) {
    if (evs[i].data.ptr == NULL) {
      uint64_t v;
      if (read(notify_fd, &v, sizeof v) < 0 && errno != EAGAIN) die("eventfd read: %s", strerror(errno));
    } else {
      on_event(evs[i].data.ptr, evs[i].events);
    }
  }
  return n;
}

static conn *new_conn(loop *owner, int port, int side, int publisher) {
  conn *c = calloc(1, sizeof *c);
  if (!c) die("out of memory");
  c->id = next_id++;
  c->port = port;
  c->side = side;
  c->publisher = publisher;
  c->owner = owner;
  c->fd = -1;
  init_keys(c);
  return c;
}

/* Connects a loop's connections, CONNECT_BATCH at a time (the servers' listen backlogs never
 * overflow), and waits until every one is ready. */
static void connect_loop(loop *l) {
  long long deadline = now_ns() + CONNECT_TIMEOUT_NS;
  for (int i = 0; i < l->n; i += CONNECT_BATCH) {
    int end = i + CONNECT_BATCH < l->n ? i + CONNECT_BATCH : l->n;
    for (int j = i; j < end; j++) start_connect(l->conns[j]);
    while (l->ready < end) {
      if (now_ns() > deadline)
        die("timed out connecting: %d of %d connections of a thread ready after %lld s", l->ready, l->n,
            CONNECT_TIMEOUT_NS / 1000000000LL);
      pass(l, 100);
    }
  }
}

static void *subscriber_thread(void *arg) {
  loop *l = arg;
  connect_loop(l);
  ADD(ready_total, l->n);
  while (!LOAD(stopping))
    if (pass(l, 20) > 0 && LOAD(polling)) sleep_ns(POLL_NS);
  return NULL;
}

/* The publisher's loop until the subscriber threads report target reached, or the deadline
 * (absolute, ns). */
static void wait_target(long long deadline) {
  while (LOAD(reached) != LOAD(target)) {
    long long now = now_ns();
    if (now >= deadline) return;
    pass(&pub_loop, (int)((deadline - now + 999999) / 1000000));
  }
}

/* Sends messages first..last (inclusive) as fast as the socket takes them, 50 frames a write. */
static void send_burst(long long first, long long last) {
  unsigned char batch[50 * 64];
  for (long long seq = first; seq <= last;) {
    size_t n = 0;
    long long upto = seq + 49 < last ? seq + 49 : last;
    STORE(sent, upto); /* before the bytes leave: a subscriber may see them at once */
    for (; seq <= upto; seq++) n += build_message(seq, batch + n);
    send_bytes(pub, batch, n);
    pass(&pub_loop, 0);
  }
}

/* CPU time (ns) of every thread of pid so far, from /proc/<pid>/task/<tid>/schedstat. */
static long long process_cpu_ns(int pid) {
  char path[64];
  long long total = 0;
  struct dirent *e;
  DIR *dir;
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  if (!(dir = opendir(path))) return -1;
  while ((e = readdir(dir))) {
    char file[320];
    long long ns;
    FILE *f;
    if (e->d_name[0] == '.') continue;
    snprintf(file, sizeof file, "/proc/%d/task/%s/schedstat", pid, e->d_name);
    if (!(f = fopen(file, "r"))) continue; /* the thread just ended */
    if (fscanf(f, "%lld", &ns) == 1) total += ns;
    fclose(f);
  }
  closedir(dir);
  return total;
}

static long long self_cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* Nearest-rank percentile q of the merged per-delivery histogram, in ms (the bucket's upper
 * edge: at most 1 µs high below 100 ms, 1 ms above). */
static double hist_percentile_ms(const uint64_t *hist, long long n, double q) {
  long long rank = (long long)(q * (double)n + 0.999999999), seen = 0, i;
  if (rank < 1) rank = 1;
  for (i = 0; i < HIST_BUCKETS - 1; i++)
    if ((seen += (long long)hist[i]) >= rank) break;
  return i < HIST_FINE ? (double)(i + 1) / 1000.0 : (double)(i - HIST_FINE + 101);
}

static void usage(void) {
  fprintf(stderr, "usage: clusterload <mummy|socketio> <burst|paced> <portA> <portB> <subscribers> <messages>\n"
                  "                   [--threads T] [--warmup W] [--pids pid,pid,...]\n");
  exit(2);
}

int main(int argc, char **argv) {
  struct epoll_event ev;
  long long t0, t_end, cpu0[MAX_PIDS], client0, *last_lat = NULL, first, hist_n = 0, hist_max = 0;
  uint64_t *hist[3]; /* A, B, both */
  long long side_n[2] = {0, 0};
  int i;
  if (argc < 7) usage();
  if (strcmp(argv[1], "mummy") == 0) proto = P_MUMMY;
  else if (strcmp(argv[1], "socketio") == 0) proto = P_SOCKETIO;
  else usage();
  if (strcmp(argv[2], "burst") == 0) mode = M_BURST;
  else if (strcmp(argv[2], "paced") == 0) mode = M_PACED;
  else usage();
  port_a = (int)parse_num(argv[3], "port", 1);
  port_b = (int)parse_num(argv[4], "port", 1);
  count = parse_num(argv[5], "subscribers", 1);
  amount = parse_num(argv[6], "messages", 1);
  if (port_a > 65535 || port_b > 65535) die("bad port");
  for (i = 7; i < argc; i += 2) {
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--threads") == 0) nthreads = (int)parse_num(argv[i + 1], "threads", 1);
    else if (strcmp(argv[i], "--warmup") == 0) warmup = parse_num(argv[i + 1], "warmup", 0);
    else if (strcmp(argv[i], "--pids") == 0) {
      char *s = argv[i + 1], *tok;
      for (tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (npids == MAX_PIDS) die("at most %d pids", MAX_PIDS);
        pids[npids++] = (int)parse_num(tok, "pid", 1);
      }
    } else usage();
  }
  if (nthreads > count) nthreads = (int)count;

  setup_process();
  if ((notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) die("eventfd: %s", strerror(errno));

  /* Subscribers: alternately on A and B; pairs dealt to the threads in turn, so each thread
   * holds as many of A's as of B's. */
  loops = calloc((size_t)nthreads, sizeof *loops);
  if (!loops) die("out of memory");
  for (i = 0; i < nthreads; i++) {
    loops[i].conns = calloc((size_t)count, sizeof(conn *));
    loops[i].hist[0] = calloc(HIST_BUCKETS, sizeof(uint32_t));
    loops[i].hist[1] = calloc(HIST_BUCKETS, sizeof(uint32_t));
    if (!loops[i].conns || !loops[i].hist[0] || !loops[i].hist[1]) die("out of memory");
    if ((loops[i].epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1: %s", strerror(errno));
  }
  for (long long k = 0; k < count; k++) {
    loop *l = &loops[(k / 2) % nthreads];
    l->conns[l->n++] = new_conn(l, k % 2 == 0 ? port_a : port_b, (int)(k % 2), 0);
  }
  STORE(hist_from, warmup + amount); /* nothing counts until the measurement starts */
  for (i = 0; i < nthreads; i++)
    if (pthread_create(&loops[i].thread, NULL, subscriber_thread, &loops[i]) != 0) die("pthread_create failed");
  t0 = now_ns() + CONNECT_TIMEOUT_NS * 2;
  while (LOAD(ready_total) < count) {
    if (now_ns() > t0) die("timed out connecting the subscribers");
    sleep_ns(5000000L);
  }

  /* The publisher, on instance A, in the main thread. */
  if ((pub_loop.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1: %s", strerror(errno));
  ev.events = EPOLLIN;
  ev.data.ptr = NULL;
  if (epoll_ctl(pub_loop.epfd, EPOLL_CTL_ADD, notify_fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
  pub = new_conn(&pub_loop, port_a, 0, 1);
  pub_loop.conns = &pub;
  pub_loop.n = 1;
  connect_loop(&pub_loop);
  t0 = now_ns() + 500000000LL; /* let the servers finish subscribing */
  while (now_ns() < t0) pass(&pub_loop, 10);
  STORE(polling, 1);

  if (warmup > 0) {
    STORE(target, count * warmup);
    send_burst(1, warmup);
    wait_target(now_ns() + BURST_TIMEOUT_NS);
    if (LOAD(delivered) != count * warmup)
      die("warm-up timed out: %lld of %lld deliveries arrived", LOAD(delivered), count * warmup);
  }
  STORE(hist_from, warmup);
  for (i = 0; i < npids; i++) cpu0[i] = process_cpu_ns(pids[i]);
  client0 = self_cpu_ns();
  first = warmup + 1;
  t0 = now_ns();
  if (mode == M_BURST) {
    STORE(target, count * (warmup + amount));
    send_burst(first, warmup + amount);
    wait_target(t0 + BURST_TIMEOUT_NS);
    if (LOAD(delivered) != count * (warmup + amount))
      die("timed out after %lld s: %lld of %lld deliveries arrived", BURST_TIMEOUT_NS / 1000000000LL,
          LOAD(delivered) - count * warmup, count * amount);
  } else {
    last_lat = malloc((size_t)amount * sizeof *last_lat);
    if (!last_lat) die("out of memory");
    for (long long k = 0; k < amount; k++) {
      long long ts = now_ns();
      STORE(target, count * (first + k));
      send_burst(first + k, first + k);
      wait_target(ts + PACED_MESSAGE_TIMEOUT_NS);
      if (LOAD(delivered) != count * (first + k))
        die("timed out after 10 s: message %lld of %lld reached %lld of %lld subscribers", k + 1, amount,
            LOAD(delivered) - count * (first + k - 1), count);
      last_lat[k] = LOAD(t_last) - ts;
    }
  }
  t_end = LOAD(t_last);
  for (i = 0; i < npids; i++) {
    long long c1 = process_cpu_ns(pids[i]);
    cpu0[i] = cpu0[i] < 0 || c1 < 0 ? -1 : c1 - cpu0[i];
  }
  client0 = self_cpu_ns() - client0;

  STORE(stopping, 1);
  for (i = 0; i < nthreads; i++) pthread_join(loops[i].thread, NULL);
  for (i = 0; i < 3; i++)
    if (!(hist[i] = calloc(HIST_BUCKETS, sizeof *hist[i]))) die("out of memory");
  for (i = 0; i < nthreads; i++) {
    for (int j = 0; j < loops[i].n; j++) {
      conn *c = loops[i].conns[j];
      if (c->received != warmup + amount) fail(c, "got %lld messages, expected %lld", c->received, warmup + amount);
      side_n[c->side] += amount;
    }
    for (long long b = 0; b < HIST_BUCKETS; b++) {
      hist[0][b] += loops[i].hist[0][b];
      hist[1][b] += loops[i].hist[1][b];
      hist[2][b] += loops[i].hist[0][b] + loops[i].hist[1][b];
    }
    hist_n += loops[i].hist_count;
    if (loops[i].hist_max_ns > hist_max) hist_max = loops[i].hist_max_ns;
  }
  if (hist_n != count * amount) die("%lld latencies recorded, expected %lld", hist_n, count * amount);

  printf("{\"mode\":\"%s\",\"rate\":%.2f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f,", argv[2],
         (double)(count * amount) * 1e9 / (double)(t_end - t0), hist_percentile_ms(hist[2], hist_n, 0.5),
         hist_percentile_ms(hist[2], hist_n, 0.99), (double)hist_max / 1e6);
  for (i = 0; i < 2; i++)
    if (side_n[i] > 0)
      printf("\"p50Ms%c\":%.3f,\"p99Ms%c\":%.3f,", "AB"[i], hist_percentile_ms(hist[i], side_n[i], 0.5), "AB"[i],
             hist_percentile_ms(hist[i], side_n[i], 0.99));
  if (last_lat) {
    qsort(last_lat, (size_t)amount, sizeof *last_lat, cmp_ll);
    printf("\"lastP50Ms\":%.3f,\"lastP99Ms\":%.3f,", percentile_ms(last_lat, amount, 0.5),
           percentile_ms(last_lat, amount, 0.99));
  }
  printf("\"delivered\":%lld,\"seconds\":%.4f,\"cpuNs\":[", count * amount, (double)(t_end - t0) / 1e9);
  for (i = 0; i < npids; i++) printf("%s%lld", i ? "," : "", cpu0[i]);
  printf("],\"clientCpuNs\":%lld}\n", client0);
  fflush(stdout);
  return 0;
}
