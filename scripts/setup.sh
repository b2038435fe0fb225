#!/usr/bin/env bash
# Installs everything the project needs on a Debian machine with Node 20: the Debian packages the
# tests, benchmarks and demos use (curl, wrk, chromium, redis-server, haproxy, openssl), pnpm (the version
# pinned in package.json), and the workspace's dependencies. Safe to run again: it skips what is
# already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for cmd in curl wrk chromium redis-server haproxy openssl; do
  # (haproxy is in /usr/sbin, which a user's PATH may lack.)
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$cmd")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" redis-server "* ]]; then
    # The package starts a system-wide Redis on 6379; @mummy/redis's tests start their own.
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 ||
      $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
  if [[ " ${missing[*]} " == *" haproxy "* ]]; then
    # The package starts a system-wide haproxy; `pnpm start:cluster` runs its own.
    $SUDO systemctl disable --now haproxy >/dev/null 2>&1 ||
      $SUDO service haproxy stop >/dev/null 2>&1 || true
  fi
fi

want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$want" ]; then
  echo "== npm install -g pnpm@$want"
  npm install -g "pnpm@$want" >/dev/null
fi

echo "== pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile
