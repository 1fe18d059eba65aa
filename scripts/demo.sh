#!/usr/bin/env bash
# The main job on the bundled demo: install flowaudit in .venv, import the demo app's traffic and its
# declaration, print the findings, write the reports to demo-out/, then serve the dashboard on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e . > .venv/pip-install.log 2>&1 || { cat .venv/pip-install.log >&2; exit 1; }
FA=.venv/bin/flowaudit
DB=${FLOWAUDIT_DB:-demo-out/demo.db}
mkdir -p demo-out
rm -f "$DB" "$DB-wal" "$DB-shm"
$FA import captures/demo.har --db "$DB" --session demo --app-id com.example.lvxingweather \
    --first-party lvxing-weather.example.cn --device-profile captures/demo-device-profile.yaml --no-progress
if [ -f captures/demo.pcapng ]; then
  $FA import captures/demo.pcapng --db "$DB" --session demo-pcap --app-id com.example.lvxingweather \
      --first-party lvxing-weather.example.cn --device-profile captures/demo-device-profile.yaml --no-progress
fi
$FA sessions show demo --db "$DB"
if $FA --help | grep -q "^  report"; then
  $FA declare import captures/demo-declaration.yaml --session demo --db "$DB"
  for fmt in md html json csv xlsx sarif; do
    $FA report --db "$DB" --session demo --format "$fmt" -o "demo-out/report.$fmt" || true
  done
  $FA report --db "$DB" --session demo --format md | head -n 60 || true
fi
$FA export --db "$DB" --session demo --format jsonl -o demo-out/observations.jsonl
if [ -z "${FLOWAUDIT_DEMO_NO_SERVE:-}" ] && $FA --help | grep -q "^  serve"; then
  echo "dashboard: http://127.0.0.1:8000/  (Ctrl-C to stop)"
  exec $FA serve --db "$DB" --host 127.0.0.1 --port 8000
fi
