"""Dashboard benchmark: page and API latency on a large SQLite database, and live-view throughput.

    python bench/bench_dashboard.py            # 1,000,000 observations (targets: p95 < 300 ms, live >= 500/s)
    python bench/bench_dashboard.py --quick    # 20,000 observations, for CI

Prints p50/p95 per URL, the worst p95 against the 300 ms target, and how many live events arrived vs
were written while the writer inserts at 500 observations per second.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from flowaudit.db import aggregates
from flowaudit.db.models import DetectionRow, MarkerRow, ObservationRow
from flowaudit.db.seed import SDKS, synthetic_analyses
from flowaudit.db.store import Store

URLS = [
    "/", "/api/sessions", "/s/big/traffic", "/s/big/traffic?sdk=umeng-analytics", "/s/big/traffic?data_type=imei",
    "/s/big/traffic?party=unattributed", "/s/big/traffic?consent=before", "/s/big/traffic?host=.example.com",
    "/api/sessions/big/observations?limit=100", "/api/sessions/big/observations?sdk=tencent-gdt&limit=100",
    "/api/sessions/big/observations?data_type=precise_location&limit=100", "/s/big/sdks", "/s/big/data-types",
    "/s/big/matrix", "/s/big/timeline", "/s/big/findings", "/api/sessions/big/sdks", "/api/sessions/big/data-types",
]


def build(store: Store, count: int) -> None:
    session = store.open_session("big", app_id="com.example.app", first_party=["app.example.cn"])
    rng = random.Random(7)
    start = 1_790_000_000.0
    chunk = 20_000
    template = synthetic_analyses(len(SDKS) * 8, seed=3, hostile_every=0)
    with store.engine.begin() as conn:
        for offset in range(0, count, chunk):
            obs_rows, det_rows = [], []
            for i in range(offset, min(count, offset + chunk)):
                a = template[rng.randrange(len(template))]
                o = a.observation
                obs_rows.append({"id": i + 1, "session_id": session.id, "ts": start + i * 0.01, "source": "proxy",
                                 "kind": "request", "method": "POST", "scheme": "https", "host": o.host, "port": 443,
                                 "path": o.path, "query": f"seq={i}", "headers": [["User-Agent", "Dalvik/2.1.0"]],
                                 "body": b'{"k":1}', "body_size": 7, "body_stored": "full", "tls": True, "status": 200,
                                 "response_headers": [], "sdk_id": a.attribution.sdk_id if a.attribution and not a.attribution.first_party else None,
                                 "first_party": bool(a.attribution and a.attribution.first_party), "opaque": False,
                                 "data_types": ("," + ",".join(sorted({d.type for d in a.detections})) + ",") if a.detections else ""})
                for d in a.detections:
                    det_rows.append({"observation_id": i + 1, "session_id": session.id, "type": d.type, "location": d.location,
                                     "key": d.key, "encoding": d.encoding, "confidence": d.confidence, "reason": d.reason,
                                     "preview": d.preview, "value_hash": d.value_hash})
            conn.execute(insert(ObservationRow), obs_rows)
            if det_rows:
                conn.execute(insert(DetectionRow), det_rows)
            print(f"\r  inserted {min(count, offset + chunk):,}/{count:,}", end="", file=sys.stderr)
        conn.execute(insert(MarkerRow), [{"session_id": session.id, "ts": start + count * 0.002, "kind": "consent", "label": ""}])
    print(file=sys.stderr)
    with store.sessionmaker() as db:
        aggregates.rebuild(db, session.id)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")


def serve(store: Store, port: int):  # type: ignore[no-untyped-def]
    import uvicorn

    from flowaudit.server.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(store=store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread


def latency(base: str, repeats: int) -> dict[str, tuple[float, float]]:
    results = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for url in URLS:
            client.get(url)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            times.sort()
            results[url] = (statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)])
    return results


def live(store: Store, base: str, rate: int, seconds: float) -> tuple[int, int, float]:
    """Write `rate` observations per second for `seconds`; count what the SSE stream delivers."""
    session = store.open_session("big")
    received: list[float] = []
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(base_url=base, timeout=None) as client, client.stream("GET", "/api/sessions/big/live") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    received.append(time.time() - json.loads(line[6:])["ts"])
                if stop.is_set():
                    return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    time.sleep(1.0)
    sent = 0
    begin = time.time()
    batch = max(1, rate // 10)
    while time.time() - begin < seconds:
        now = time.time()
        analyses = synthetic_analyses(batch, seed=sent, start=now, hostile_every=0)
        for a in analyses:
            a.observation.ts = now
        store.write_analyses(session, analyses)
        sent += batch
        time.sleep(max(0.0, begin + sent / rate - time.time()))
    time.sleep(2.0)
    stop.set()
    lag = statistics.median(received) if received else float("nan")
    return sent, len(received), lag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 observations, few repeats (CI)")
    parser.add_argument("--count", type=int, default=None)
    args = parser.parse_args()
    count = args.count or (20_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "bench.db"))
        t0 = time.perf_counter()
        build(store, count)
        print(f"built {count:,} observations in {time.perf_counter() - t0:.1f}s")
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server, thread = serve(store, port)
        base = f"http://127.0.0.1:{port}"
        results = latency(base, 5 if args.quick else 20)
        width = max(len(u) for u in results)
        for url, (p50, p95) in results.items():
            print(f"{url:{width}}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
        worst = max(p95 for _, p95 in results.values())
        print(f"worst p95: {worst:.1f} ms (target < 300 ms) -> ratio to target {worst / 300:.2f}")
        sent, got, lag = live(store, base, 500, 3 if args.quick else 10)
        print(f"live view: wrote {sent} observations at 500/s, stream delivered {got} ({got / max(sent, 1):.1%}), "
              f"median delay {lag * 1000:.0f} ms")
        server.should_exit = True
        thread.join(5)


if __name__ == "__main__":
    main()
