#!/usr/bin/env bash
# The chat demo on two instances: a redis-server (no persistence, in a temporary folder), two
# chat instances sharing it (and one folder of shared files), and haproxy in front of them,
# balancing each request and WebSocket round-robin. Prints the URL; Ctrl-C stops everything.
#
#   pnpm start:cluster                  # http://localhost:8080
#   PORT=9000 WORKERS=4 pnpm start:cluster
#
# PORT: the balancer's port (default 8080). WORKERS: worker threads per instance (default 2).
# SKIP_BUILD=1: don't run the (cached) build first. Needs redis-server and haproxy (Debian
# packages, installed by scripts/setup.sh); the instances and Redis listen on free ports of
# 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-8080}
WORKERS=${WORKERS:-2}
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
for cmd in redis-server redis-cli "$HAPROXY" curl; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "start-cluster: $cmd not found: run scripts/setup.sh (apt-get install redis-server haproxy curl)" >&2
    exit 1
  fi
done

if [ "${SKIP_BUILD:-}" != 1 ]; then
  echo "== building (turbo: only what changed)"
  node_modules/.bin/turbo run build --filter=@mummy/chat... --output-logs=errors-only >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mummy-cluster-XXXXXX")
pids=()
names=()

# Stops what was started: the balancer and the instances first, then Redis (so that the
# instances do not see it go away) — SIGTERM, then SIGKILL for anything still there after 10 s.
# Runs once, on Ctrl-C, SIGTERM or any exit.
stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM HUP EXIT
  if [ "${#pids[@]}" -gt 1 ]; then stop "${pids[@]:1}"; fi
  if [ "${#pids[@]}" -gt 0 ]; then stop "${pids[0]}"; fi
  rm -rf "$tmp"
}
stop() {
  local pid deadline=$((SECONDS + 10))
  kill -TERM "$@" 2>/dev/null || true
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
# (Ctrl-C is how this script is meant to end: everything stopped, exit 0.)
trap 'echo; echo "== stopping"; stop_all; exit 0' INT
trap 'stop_all; exit 143' TERM HUP
trap stop_all EXIT

# start NAME OUTPUT COMMAND...: runs it in the background (its output to the file OUTPUT, or
# here for -), remembered for stop_all.
start() {
  local name=$1 output=$2
  shift 2
  if [ "$output" = - ]; then "$@" & else "$@" >"$output" 2>&1 & fi
  pids+=("$!")
  names+=("$name")
}

# wait_for NAME PID COMMAND...: until COMMAND succeeds (15 s at most, while PID lives).
wait_for() {
  local name=$1 pid=$2
  shift 2
  local deadline=$((SECONDS + 15))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "start-cluster: $name exited" >&2
      [ -f "$tmp/$name.log" ] && tail -20 "$tmp/$name.log" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "start-cluster: $name did not start in 15 s" >&2
      [ -f "$tmp/$name.log" ] && tail -20 "$tmp/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# Three free ports of 127.0.0.1 (Redis, instance a, instance b).
read -r redis_port port_a port_b < <(node -e '
  const net = require("node:net")
  const servers = [0, 1, 2].map(() => net.createServer())
  Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", r)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "))
    for (const s of servers) s.close()
  })')

echo "== redis-server on 127.0.0.1:$redis_port (no persistence)"
start redis "$tmp/redis.log" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
  --appendonly no --daemonize no --dir "$tmp"
wait_for redis "${pids[-1]}" redis-cli -p "$redis_port" ping

mkdir -p "$tmp/files"
for instance in a b; do
  port=$port_a
  [ "$instance" = b ] && port=$port_b
  echo "== chat instance $instance on 127.0.0.1:$port"
  start "$instance" - env PORT="$port" REDIS_URL="redis://127.0.0.1:$redis_port" \
    CHAT_INSTANCE="$instance" CHAT_FILES="$tmp/files" WORKERS="$WORKERS" \
    LOG_LEVEL="${LOG_LEVEL:-warn}" node apps/chat/server.js
  wait_for "$instance" "${pids[-1]}" curl -fs -o /dev/null "http://127.0.0.1:$port/style.css"
done

# haproxy in HTTP mode: every request (and every WebSocket) goes to the next instance, no
# stickiness (the state is in Redis). WebSockets are tunnels after the upgrade ("timeout
# tunnel"); event streams are long responses kept alive by the server's heartbeat comment every
# 15 s ("timeout server"/"timeout client" above it).
cat >"$tmp/haproxy.cfg" <<EOF
global
  maxconn 4000

defaults
  mode http
  option http-server-close
  timeout connect 5s
  timeout http-request 10s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  timeout client-fin 5s

frontend chat
  bind :$PORT
  default_backend instances

backend instances
  balance roundrobin
  option httpchk
  http-check send meth GET uri /style.css
  server a 127.0.0.1:$port_a check inter 2s fall 2 rise 1
  server b 127.0.0.1:$port_b check inter 2s fall 2 rise 1
EOF
echo "== haproxy on :$PORT"
start haproxy "$tmp/haproxy.log" "$HAPROXY" -db -f "$tmp/haproxy.cfg"
wait_for haproxy "${pids[-1]}" curl -fs -o /dev/null "http://127.0.0.1:$PORT/style.css"

echo
echo "Chat cluster ready: http://localhost:$PORT/ (instances http://127.0.0.1:$port_a/ and http://127.0.0.1:$port_b/, Redis redis://127.0.0.1:$redis_port; Ctrl-C stops everything)"

# Until Ctrl-C, or one of them stops by itself (then everything stops).
set +e
wait -n "${pids[@]}"
status=$?
for i in "${!pids[@]}"; do
  kill -0 "${pids[$i]}" 2>/dev/null || echo "start-cluster: ${names[$i]} exited (status $status)" >&2
done
exit 1
