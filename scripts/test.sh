#!/usr/bin/env bash
# Runs flowaudit's whole test suite on a fresh machine: system packages (as root), a venv with the
# project and its test extra, a throw-away PostgreSQL server on loopback, then pytest (SQLite and PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

need=()
for pkg in tshark tcpdump chromium chromium-driver postgresql fonts-noto-cjk wrk; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "flowaudit tests: missing system packages (${need[*]}); the tests that need them will be skipped" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]" > .venv/pip-install.log 2>&1 || { cat .venv/pip-install.log >&2; exit 1; }

# A PostgreSQL server of our own on loopback for the team-deployment pass.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
PGDIR=$(mktemp -d /tmp/flowaudit-pg.XXXXXX)
PGPORT=${FLOWAUDIT_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
stop_pg() {
  if [ -n "${PGBIN:-}" ] && [ -f "$PGDIR/data/postmaster.pid" ]; then
    su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDIR/data -m fast -w stop" >/dev/null 2>&1 || true
  fi
  rm -rf "$PGDIR"
}
trap stop_pg EXIT
if [ -n "$PGBIN" ] && [ "$(id -u)" = 0 ] && [ -z "${FLOWAUDIT_TEST_PG:-}" ]; then
  chown postgres "$PGDIR"
  su postgres -s /bin/sh -c "$PGBIN/initdb -D $PGDIR/data --auth=trust -U postgres -E UTF8" >/dev/null
  su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDIR/data -l $PGDIR/log -w -o '-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR' start" >/dev/null
  "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE flowaudit_test" >/dev/null
  export FLOWAUDIT_TEST_PG="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/flowaudit_test"
fi

export PYTHONDONTWRITEBYTECODE=1
.venv/bin/python -m pytest "$@"
