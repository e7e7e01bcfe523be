#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the store tests and writes its URL
# to $URL_FILE (default data/postgres-test.url). Reuses a running one.
# Installs the Debian PostgreSQL 15 server with apt-get when it is missing.
#   internal/devkit/storetest/pg-test.sh [start|stop]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DIR=${PGTEST_DIR:-$ROOT/data/pgtest}
URL_FILE=${URL_FILE:-$ROOT/data/postgres-test.url}
mkdir -p "$(dirname "$URL_FILE")"

find_bin() {
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "pg-test: PostgreSQL is not installed; as root run: make system-deps (apt-get install postgresql-15)" >&2
    exit 1
  fi
  echo "pg-test: PostgreSQL not found; installing postgresql-15 with apt-get" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  BIN=$(find_bin)
fi

# initdb and postgres refuse to run as root: run them as postgres (or nobody).
RUN=()
if [ "$(id -u)" -eq 0 ]; then
  U=postgres; id -u $U >/dev/null 2>&1 || U=nobody
  RUN=(runuser -u "$U" --)
fi

# Test packages may call this at the same time: one at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$(dirname "$URL_FILE")/.pg-test.lock"
  flock 9
fi

if [ "${1:-start}" = stop ]; then
  [ -f "$DIR/PG_VERSION" ] && "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
  rm -f "$URL_FILE"; exit 0
fi

if [ -f "$URL_FILE" ] && [ -f "$DIR/postmaster.pid" ]; then
  PORT=$(sed -n 4p "$DIR/postmaster.pid" 2>/dev/null || true)
  if [ -n "$PORT" ] && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    echo "pg-test: PostgreSQL already running: $(cat "$URL_FILE")"; exit 0
  fi
fi

if [ ! -f "$DIR/PG_VERSION" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  [ ${#RUN[@]} -gt 0 ] && chown "$U" "$DIR"
  "${RUN[@]}" "$BIN/initdb" -D "$DIR" -U postgres -A trust --no-sync -E UTF8 >/dev/null
fi
[ ${#RUN[@]} -gt 0 ] && chown -R "$U" "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
"${RUN[@]}" "$BIN/pg_ctl" -D "$DIR" -l "$DIR/log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null 9>&-
URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
echo "$URL" > "$URL_FILE"
echo "pg-test: PostgreSQL running: $URL (URL in $URL_FILE)"
