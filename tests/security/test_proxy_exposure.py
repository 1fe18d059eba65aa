"""The proxy listens on loopback unless told otherwise, and warns when it is exposed without proxy
authentication: the real `flowaudit proxy` in a subprocess, run briefly and stopped. Connections stay on
loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.network


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:
                if width == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, 32, 8))
                    found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def run_proxy(tmp_path: Path, *args: str, seconds: float = 20) -> tuple[set[str], str]:
    """Start the proxy, wait until it listens, note where, stop it; (addresses, output)."""
    port = free_port()
    log = tmp_path / f"proxy-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flowaudit", "proxy", "--db", str(tmp_path / "audit.db"),
                                 "--confdir", str(tmp_path / "conf"), "--port", str(port), "--session", "exposure",
                                 *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            deadline = time.monotonic() + seconds
            addresses: set[str] = set()
            while time.monotonic() < deadline and proc.poll() is None:
                addresses = listening(port)
                if addresses:
                    break
                time.sleep(0.2)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return addresses, log.read_text(errors="replace")


def test_default_listens_on_loopback_only_and_does_not_warn(tmp_path):
    addresses, output = run_proxy(tmp_path)
    assert addresses, output
    assert addresses <= {"127.0.0.1", "::1"}, addresses
    assert "WARNING" not in output


def test_exposed_without_proxyauth_warns(tmp_path):
    addresses, output = run_proxy(tmp_path, "--listen-host", "0.0.0.0")  # noqa: S104 - the exposure under test
    assert addresses & {"0.0.0.0", "::"}, addresses
    assert "without proxy authentication" in output and "--proxyauth" in output, output


def test_exposed_with_proxyauth_does_not_warn(tmp_path):
    addresses, output = run_proxy(tmp_path, "--listen-host", "0.0.0.0", "--proxyauth", "auditor:s3cret")  # noqa: S104
    assert addresses & {"0.0.0.0", "::"}, addresses
    assert "without proxy authentication" not in output
    assert "s3cret" not in output, "the proxy password is not echoed"
