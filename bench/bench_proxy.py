"""Proxy benchmark: mitmdump with the flowaudit addon against bare mitmdump, side by side in one run.

Everything runs on 127.0.0.1: a small asyncio upstream (its own process), mitmdump (bare, then with
``-s addons/flowaudit_addon.py``), and the load: wrk when installed (throughput and p99 latency), plus an
exact-count phase from a Python client (N requests sent -> N observations stored). Prints:

- throughput ratio addon/bare (target >= 0.90) and added p99 latency (target < 2 ms);
- sent vs answered vs stored after a SIGTERM (target: stored == sent);
- with --crash: sent vs stored after a SIGKILL right after the last answer (at most the last batch missing),
  and that the database opens cleanly afterwards.

    python bench/bench_proxy.py --quick          # CI: a few seconds
    python bench/bench_proxy.py                  # 3 alternating rounds of 10 s
    python bench/bench_proxy.py --crash          # SIGKILL mid-load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addons" / "flowaudit_addon.py"
MITMDUMP = str(Path(sys.executable).with_name("mitmdump"))
BODY = json.dumps({"header": {"imei": "490154203237518", "idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC",
                              "model": "Pixel 7", "os": "Android 14"},
                   "content": {"events": [{"id": "app_start", "ts": 1700000000}]}}).encode()


# ---------------------------------------------------------------------------------------------- upstream


async def _serve_upstream() -> None:
    count = 0
    reply = b'{"status":"ok"}'

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"GET /__count"):
                    body = str(count).encode()
                else:
                    count += 1
                    body = reply
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def upstream_count(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET /__count HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
            data += conn.recv(4096)
        return int(data.split(b"\r\n\r\n", 1)[1])


# ---------------------------------------------------------------------------------------------- proxies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"proxy exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("proxy did not start")


def start_proxy(mode: str, db: Path | None, confdir: Path) -> tuple[subprocess.Popen, int]:
    """mode: bare (mitmdump alone), process (the addon, writer process: the default) or thread."""
    port = free_port()
    command = [MITMDUMP, "-q", "--listen-host", "127.0.0.1", "-p", str(port), "--set", f"confdir={confdir}",
               "--set", "connection_strategy=lazy"]
    if mode != "bare":
        command += ["-s", str(ADDON), "--set", f"flowaudit_db={db}", "--set", "flowaudit_session=bench",
                    "--set", f"flowaudit_writer_process={'true' if mode == 'process' else 'false'}"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_port(port, process)
    return process, port


def stop_proxy(process: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    process.send_signal(sig)
    out, _ = process.communicate(timeout=120)
    return out.decode(errors="replace")


def stored(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------- load


def request_bytes(upstream: int, n: int) -> bytes:
    return (f"POST http://127.0.0.1:{upstream}/unify_logs?appkey=bench&n={n} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{upstream}\r\nMsg-Type: envelope/json\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY


async def exact_load(proxy: int, upstream: int, total: int, connections: int) -> tuple[int, int, list[float]]:
    """Send exactly `total` requests over keep-alive connections; returns (sent, answered, latencies)."""
    sent = answered = 0
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal sent, answered
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy)
        try:
            while sent < total:
                sent += 1
                started = time.perf_counter()
                writer.write(request_bytes(upstream, sent))
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if head.startswith(b"HTTP/1.1 200"):
                    answered += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return sent, answered, latencies


WRK_SCRIPT = """
wrk.method = "POST"
wrk.path = "http://127.0.0.1:{upstream}/unify_logs?appkey=bench"
wrk.body = {body}
wrk.headers["Host"] = "127.0.0.1:{upstream}"
wrk.headers["Msg-Type"] = "envelope/json"
wrk.headers["Content-Type"] = "application/json"
"""


def wrk_run(proxy: int, upstream: int, seconds: int, connections: int, workdir: Path) -> dict[str, float]:
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT.format(upstream=upstream, body=json.dumps(BODY.decode())))
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{proxy}"], capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "requests": requests, "p99_ms": float(p99.group(1)) * scale,
            "non2xx": int(errors.group(1)) if errors else 0}


def python_rate(proxy: int, upstream: int, total: int, connections: int) -> dict[str, float]:
    started = time.perf_counter()
    sent, answered, latencies = asyncio.run(exact_load(proxy, upstream, total, connections))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": answered / elapsed, "requests": sent,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0, "non2xx": sent - answered}


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round (CI)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--count", type=int, default=5000, help="requests in the exact-count phase")
    parser.add_argument("--crash", action="store_true", help="also SIGKILL the proxy right after a load")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        asyncio.run(_serve_upstream())
        return 0
    if args.quick:
        args.rounds, args.seconds, args.count = 1, 3, 500
    use_wrk = bool(subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).stdout)

    workdir = Path(tempfile.mkdtemp(prefix="flowaudit-bench-"))
    confdir = workdir / "conf"
    upstream_process = subprocess.Popen([sys.executable, __file__, "--serve-upstream"], stdout=subprocess.PIPE)
    upstream = int(upstream_process.stdout.readline())
    failures: list[str] = []
    try:
        print(f"load generator: {'wrk' if use_wrk else 'python asyncio client'}; {args.connections} connections; "
              f"{args.rounds} round(s) of {args.seconds if use_wrk else args.count} {'s' if use_wrk else 'requests'}; "
              f"{os.cpu_count()} CPU(s) on this machine")
        modes = ("bare", "process") if args.quick else ("bare", "process", "thread")
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        for round_number in range(args.rounds):
            for mode in modes:
                db = workdir / f"{mode}-{round_number}.db"
                process, port = start_proxy(mode, db, confdir)
                before = upstream_count(upstream)
                measured = (wrk_run(port, upstream, args.seconds, args.connections, workdir) if use_wrk
                            else python_rate(port, upstream, args.count, args.connections))
                output = stop_proxy(process)
                measured["upstream"] = upstream_count(upstream) - before
                if mode != "bare":
                    measured["stored"] = stored(db)
                    if "STORAGE ERROR" in output:
                        failures.append(f"storage errors during round {round_number}")
                results[mode].append(measured)
                print(f"  round {round_number + 1} {mode:7}: {measured['rps']:8.0f} req/s  p99 {measured['p99_ms']:7.2f} ms"
                      f"  answered {measured['requests']:6.0f}  reached upstream {measured['upstream']:6.0f}"
                      + (f"  stored {measured['stored']:6.0f}" if mode != "bare" else ""))
        bare_rps = statistics.median(r["rps"] for r in results["bare"])
        labels = {"process": "writer process (default)", "thread": "writer thread"}
        for mode, label in ((m, labels[m]) for m in modes if m != "bare"):
            addon_rps = statistics.median(r["rps"] for r in results[mode])
            # each round measures bare and addon back to back: the paired ratio cancels slow drifts of the machine
            ratios = [a["rps"] / b["rps"] for a, b in zip(results[mode], results["bare"], strict=True) if b["rps"]]
            ratio = statistics.median(ratios) if ratios else 0.0
            print(f"throughput with flowaudit, {label}: {addon_rps:.0f} vs bare {bare_rps:.0f} req/s (saturated, "
                  f"{args.connections} connections); paired ratio {ratio:.3f} (rounds: "
                  f"{', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.90)")
        if use_wrk:
            # latency without queueing: one connection, one request at a time
            latency: dict[str, list[float]] = {mode: [] for mode in modes}
            for round_number in range(args.rounds):
                for mode in modes:
                    db = workdir / f"latency-{mode}-{round_number}.db"
                    process, port = start_proxy(mode, db, confdir)
                    latency[mode].append(wrk_run(port, upstream, max(2, args.seconds // 2), 1, workdir)["p99_ms"])
                    stop_proxy(process)
            bare_p99 = statistics.median(latency["bare"])
            for mode, label in ((m, labels[m]) for m in modes if m != "bare"):
                addon_p99 = statistics.median(latency[mode])
                print(f"p99 latency, one connection, {label}: {addon_p99:.2f} vs bare {bare_p99:.2f} ms, added "
                      f"{addon_p99 - bare_p99:+.2f} ms (target < 2 ms)")
        for measured in (m for mode in modes if mode != "bare" for m in results[mode]):
            # wrk stops mid-request at the end: those requests reached the proxy and are stored too
            if measured["stored"] < measured["upstream"]:
                failures.append(f"stored {measured['stored']:.0f} < reached upstream {measured['upstream']:.0f}")

        # exact count: N requests sent, SIGTERM, N observations stored
        db = workdir / "exact.db"
        process, port = start_proxy("process", db, confdir)
        sent, answered, _ = asyncio.run(exact_load(port, upstream, args.count, args.connections))
        stop_proxy(process, signal.SIGTERM)
        count = stored(db)
        print(f"SIGTERM right after the load: sent {sent}, answered {answered}, stored {count} "
              f"({'OK' if count == sent else 'LOSS'})")
        if count != sent:
            failures.append(f"exact phase: sent {sent}, stored {count}")

        if args.crash:
            for mode in ("process",) if args.quick else ("process", "thread"):
                db = workdir / f"crash-{mode}.db"
                process, port = start_proxy(mode, db, confdir)
                sent, answered, _ = asyncio.run(exact_load(port, upstream, args.count, args.connections))
                stop_proxy(process, signal.SIGKILL)
                time.sleep(2.0)   # a writer process outliving the proxy stores what it had received
                conn = sqlite3.connect(db)
                integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
                count = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
                conn.close()
                print(f"SIGKILL right after the load ({mode}): sent {sent}, answered {answered}, stored {count}, "
                      f"missing {sent - count} (target: at most one writer batch of 500); integrity {integrity}")
                if integrity != "ok" or (mode == "process" and sent - count > 500):
                    failures.append(f"crash phase ({mode}): integrity {integrity}, missing {sent - count}")
    finally:
        upstream_process.terminate()
        upstream_process.wait(10)
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
