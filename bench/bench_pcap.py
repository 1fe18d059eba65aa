"""Capture import against tshark on the same generated capture, in the same run.

    python bench/bench_pcap.py            # >= 150,000 packets / 40 MB of HTTP traffic
    python bench/bench_pcap.py --quick    # a few thousand packets, for CI
    python bench/bench_pcap.py --memory 1024   # peak RSS while importing a ~1 GB capture
    python bench/bench_pcap.py --mix media     # mostly downloads between API calls (fewer requests)
    python bench/bench_pcap.py --reader-only   # read_capture alone against tshark

flowaudit's side is the whole import: read_capture (parse, reassemble), analyze (attribution and personal
data detection with the shipped signatures) and storage into SQLite through the batched writer. tshark's side
is `tshark -r FILE -Y http.request -T fields -e http.host -e http.request.uri -e http.file_data`. The import
runs in a child process so its peak RSS is its own. The per-stage times (read+reassemble, analyze, store)
show where the time goes: tshark's cost follows packets and bytes, the import's analyze and store stages
follow the number of requests.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flowaudit.readers.capture_synth import CaptureWriter, HttpExchange, _Builder, _http_writes

HOSTS = [
    ("ulogs.umeng.com", "/unify_logs", [("X-Umeng-Sdk", "Android/9.6.3"), ("Msg-Type", "envelope/json")]),
    ("api.jpush.cn", "/v3/push/report", []),
    ("sdk.e.qq.com", "/conv", []),
    ("android.bugly.qq.com", "/rqd/async", []),
    ("api.example-app.cn", "/v2/feed", [("Authorization", "Bearer 8f2a41c9")]),
    ("log.tbs.qq.com", "/ajax", []),
    ("api.talkingdata.com", "/g/d", []),
    ("cdn.example-app.cn", "/static/banner.webp", []),
]


def _exchange(rng: random.Random, ts: float, client: str, server: str, conn: str, mix: str) -> HttpExchange:
    host, path, headers = rng.choice(HOSTS)
    if mix == "media" and rng.random() < 0.85:
        host, path, headers = HOSTS[-1]
    if path.startswith("/static"):
        size = rng.randint(20_000, 120_000) if mix == "api" else rng.randint(100_000, 1_500_000)
        return HttpExchange(ts=ts, client=client, server=server, host=host, method="GET", path=path,
                            headers=[("User-Agent", "okhttp/4.12.0")], response_headers=[("Content-Type", "image/webp")],
                            response_body=rng.randbytes(size), connection=conn)
    body = json.dumps({
        "header": {"imei": "86" + "".join(rng.choice("0123456789") for _ in range(13)),
                   "android_id": rng.randbytes(8).hex(), "oaid": f"{rng.randbytes(16).hex()}",
                   "mac": "02:00:00:00:00:00", "model": "Pixel 7", "os": "Android 14"},
        "events": [{"id": rng.randint(1, 10_000), "ts": int(ts * 1000) + i, "page": f"page_{i}",
                    "duration": rng.randint(10, 5000)} for i in range(rng.randint(2, 30))],
    }).encode()
    return HttpExchange(ts=ts, client=client, server=server, host=host, method="POST",
                        path=f"{path}?ver=9.6.3&ts={int(ts)}", headers=[("Content-Type", "application/json"),
                                                                        ("User-Agent", "okhttp/4.12.0"), *headers],
                        body=body, response_headers=[("Content-Type", "application/json")],
                        response_body=b'{"code":0,"msg":"ok"}', connection=conn)


def generate(path: Path, min_packets: int, min_bytes: int, mix: str = "api", seed: int = 7) -> tuple[int, int]:
    """Write a capture of keep-alive HTTP connections, several open at once; returns (packets, bytes)."""
    rng = random.Random(seed)
    builder = _Builder(1, 1460, None, "eth0")
    packets = written = 0
    t0 = 1_700_000_000.0
    conn_index = 0
    with CaptureWriter(path, "pcap", 1) as writer:
        while packets < min_packets or written < min_bytes:
            batch = []
            for _ in range(8):  # eight connections interleaved in time
                conn_index += 1
                start = t0 + conn_index * 0.05
                client = f"10.{(conn_index >> 8) & 255}.{conn_index & 255}.2"
                server = f"203.0.113.{conn_index % 200 + 1}"
                exchanges = [_exchange(rng, start + k * 0.01, client, server, f"c{conn_index}", mix)
                             for k in range(rng.randint(1, 12))]
                batch.append(builder.tcp_conversation(client, server, start, _http_writes(exchanges), 80))
            for packet in heapq.merge(*batch, key=lambda p: p.ts):
                writer.write(packet)
                packets += 1
                written += len(packet.frame)
    return packets, written


def import_capture(path: Path, db_path: Path, reader_only: bool = False) -> dict:
    from flowaudit.core.pipeline import analyze
    from flowaudit.db.store import Store
    from flowaudit.db.writer import Writer
    from flowaudit.readers.pcap import CaptureStats, read_capture
    from flowaudit.signature_db import default_index

    index = default_index()
    store = Store(f"sqlite:///{db_path}")
    session = store.open_session(path.stem)
    clock = time.perf_counter
    start = clock()
    writer = Writer(store)
    stats = CaptureStats()
    requests = attributed = detections = 0
    t_read = t_analyze = t_store = 0.0
    observations = read_capture(path, stats=stats)
    while True:
        t0 = clock()
        obs = next(observations, None)
        t1 = clock()
        t_read += t1 - t0
        if obs is None:
            break
        requests += obs.kind == "request"
        if reader_only:
            continue
        analysis = analyze(obs, index)
        t2 = clock()
        t_analyze += t2 - t1
        attributed += analysis.attribution is not None
        detections += len(analysis.detections)
        writer.submit(session, analysis)
        if writer.pending > 2000:  # back-pressure: memory stays bounded when storage is the slow stage
            writer.flush()
        t_store += clock() - t2
    t0 = clock()
    writer.close()
    t_store += clock() - t0
    elapsed = clock() - start
    store.close()
    return {"seconds": elapsed, "read_seconds": t_read, "analyze_seconds": t_analyze, "store_seconds": t_store,
            "requests": requests, "attributed": attributed, "detections": detections,
            "packets": stats.packets, "observations": stats.observations, "warnings": stats.warnings,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_import_child(path: Path, db_path: Path, reader_only: bool = False) -> dict:
    extra = ["--reader-only"] if reader_only else []
    out = subprocess.run([sys.executable, __file__, "--import-only", str(path), str(db_path), *extra], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_cli_import(path: Path, db_path: Path) -> dict | None:
    """`flowaudit import FILE` as a user runs it: wall time and the child's own peak RSS."""
    script = Path(sys.executable).with_name("flowaudit")
    executable = str(script) if script.exists() else shutil.which("flowaudit")
    if executable is None:
        return None
    probe = subprocess.run([executable, "import", "--help"], capture_output=True)
    if probe.returncode != 0:
        return None
    command = [executable, "import", str(path), "--db", f"sqlite:///{db_path}", "--no-progress"]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    return {"seconds": elapsed, "peak_rss_mb": usage.ru_maxrss / 1024, "status": os.waitstatus_to_exitcode(status),
            "output": (out + err).strip()}


def run_tshark(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(["tshark", "-r", str(path), "-Y", "http.request", "-T", "fields", "-e", "http.host",
                           "-e", "http.request.uri", "-e", "http.file_data"], capture_output=True, check=True)
    return time.perf_counter() - start, proc.stdout.count(b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small capture (CI)")
    parser.add_argument("--packets", type=int, default=150_000)
    parser.add_argument("--mb", type=int, default=40, help="minimum capture size in MB")
    parser.add_argument("--memory", type=int, metavar="MB", help="peak-RSS check on a capture of this size")
    parser.add_argument("--keep", type=Path, help="keep the generated capture at this path")
    parser.add_argument("--mix", choices=["api", "media"], default="api",
                        help="api: mostly analytics/API POSTs with JSON bodies (about 11 packets per request); "
                             "media: mostly image and file downloads between the API calls")
    parser.add_argument("--capture", type=Path, help="use this capture instead of generating one")
    parser.add_argument("--reader-only", action="store_true",
                        help="time and measure read_capture alone (no analysis, no storage)")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the `flowaudit import` command")
    parser.add_argument("--import-only", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_only:
        print(json.dumps(import_capture(*args.import_only, reader_only=args.reader_only)))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="flowaudit-bench-"))
    try:
        capture = args.capture or args.keep or tmp / "bench.pcap"
        if args.capture:
            packets, size = -1, capture.stat().st_size
        elif args.memory:
            packets, size = generate(capture, 0, args.memory << 20, args.mix)
        elif args.quick:
            packets, size = generate(capture, 3_000, 1 << 20, args.mix)
        else:
            packets, size = generate(capture, args.packets, args.mb << 20, args.mix)
        ours = run_import_child(capture, tmp / "bench.db", args.reader_only)
        print(f"capture: {ours['packets']:,} packets, {size / 1e6:.1f} MB ({capture})")
        what = "flowaudit read_capture only" if args.reader_only else "flowaudit import"
        print(f"{what}: {ours['seconds']:.2f} s, {ours['requests']:,} requests, "
              f"{ours['attributed']:,} attributed, {ours['detections']:,} detections, "
              f"peak RSS {ours['peak_rss_mb']:.0f} MB")
        print(f"  read+reassemble {ours['read_seconds']:.2f} s, analyze {ours['analyze_seconds']:.2f} s, "
              f"store {ours['store_seconds']:.2f} s")
        if ours["warnings"]:
            print("  warnings:", "; ".join(ours["warnings"]))
        cli = None if args.reader_only or args.no_cli else run_cli_import(capture, tmp / "cli.db")
        if cli is not None:
            print(f"flowaudit import (CLI): {cli['seconds']:.2f} s, peak RSS {cli['peak_rss_mb']:.0f} MB, "
                  f"exit {cli['status']}: {cli['output'].splitlines()[-1] if cli['output'] else ''}")
        if args.memory:
            peak = max(ours["peak_rss_mb"], cli["peak_rss_mb"] if cli else 0)
            verdict = "OK" if peak < 400 else "OVER"
            print(f"memory check: peak RSS {peak:.0f} MB on {size / 1e6:.0f} MB (limit 400 MB): {verdict}")
            return 0 if verdict == "OK" else 1
        if shutil.which("tshark") is None:
            print("tshark not installed: no comparison")
            return 0
        tshark_seconds, tshark_requests = run_tshark(capture)
        print(f"tshark -Y http.request: {tshark_seconds:.2f} s, {tshark_requests:,} requests")
        ratio = ours["seconds"] / tshark_seconds
        print(f"ratio flowaudit/tshark: {ratio:.3f} (target <= 0.333) {'OK' if ratio <= 1 / 3 else 'MISSED'}")
        if cli is not None:
            cli_ratio = cli["seconds"] / tshark_seconds
            print(f"ratio flowaudit import (CLI)/tshark: {cli_ratio:.3f} "
                  f"{'OK' if cli_ratio <= 1 / 3 else 'MISSED'}")
        print(f"ratio read_capture/tshark: {ours['read_seconds'] / tshark_seconds:.3f}")
        if tshark_requests != ours["requests"]:
            print(f"note: request counts differ (flowaudit {ours['requests']}, tshark {tshark_requests})")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    sys.exit(main())
