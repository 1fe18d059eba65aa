"""Live view end to end: `flowaudit proxy --dashboard` records real requests and the dashboard's event stream
delivers them within a second or two. Only loopback: the proxy sends every request to a local upstream."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.network
FLOWAUDIT = str(Path(sys.executable).with_name("flowaudit"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_POST = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_requests_through_the_proxy_appear_in_the_live_view(tmp_path, upstream):
    dashboard_port = _free_port()
    log = (tmp_path / "proxy.log").open("wb")
    process = subprocess.Popen(
        [FLOWAUDIT, "proxy", "--db", str(tmp_path / "live.db"), "--port", "0", "--session", "live",
         "--confdir", str(tmp_path / "conf"), "--dashboard", "--dashboard-port", str(dashboard_port),
         "--set", f"flowaudit_upstream_override=80=127.0.0.1:{upstream}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path)
    try:
        output = ""
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not re.search(r"listening on 127\.0\.0\.1:(\d+)", output):
            assert process.poll() is None, output
            time.sleep(0.1)
            output = (tmp_path / "proxy.log").read_text(errors="replace")
        proxy_port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", output).group(1))
        base = f"http://127.0.0.1:{dashboard_port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/sessions/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        events: list[tuple[float, dict]] = []

        def listen() -> None:
            with httpx.Client(timeout=None) as client, client.stream("GET", f"{base}/api/sessions/live/live") as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        events.append((time.monotonic(), json.loads(line[6:])))
                    if len(events) >= 3:
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(1.0)
        sent = {}
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}", timeout=20) as client:
            for path in ("/unify_logs?imei=867530012345672", "/unify_logs?n=2", "/unify_logs?n=3"):
                sent[path] = time.monotonic()
                assert client.get(f"http://ulogs.umeng.com{path}").text == "ok"
                time.sleep(0.3)
        listener.join(15)
        assert len(events) == 3, output
        for arrived, event in events:
            assert event["host"] == "ulogs.umeng.com" and event["sdk"]["id"] == "umeng-analytics"
            path = event["url"].split("ulogs.umeng.com", 1)[1]
            matched = [p for p in sent if path.startswith(p.split("?")[0]) and p.split("?")[1][:3] in path]
            assert matched, path
            assert arrived - sent[matched[0]] < 3.0, "a live update took more than three seconds"
        imei_event = next(e for _, e in events if "imei" in e["url"] or any(d["type"] == "imei" for d in e["data"]))
        assert any(d["type"] == "imei" for d in imei_event["data"])
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
