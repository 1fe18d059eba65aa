"""Dashboard access: a strict CSP on every route, CSRF and same-origin checks on every state-changing route,
no CORS, and `flowaudit serve` off loopback really requiring the token it prints once (real server process;
connections only over loopback)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from flowaudit.db.seed import seed_session
from flowaudit.db.store import Store
from flowaudit.server.app import create_app

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app(db_url):
    store = Store(db_url)
    seed_session(store, "seeded", 60)
    return create_app(store=store)


def routes_of(app) -> list[tuple[str, set[str]]]:  # type: ignore[no-untyped-def]
    """(path, methods) of every route, through included routers (however this FastAPI version nests them)."""
    out: list[tuple[str, set[str]]] = []

    def walk(routes) -> None:  # type: ignore[no-untyped-def]
        for route in routes:
            nested = getattr(route, "original_router", None) or getattr(route, "router", None)
            if isinstance(route, Route):
                out.append((route.path, set(route.methods or ())))
            elif nested is not None and hasattr(nested, "routes"):
                walk(nested.routes)
    walk(app.routes)
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: {"name": "seeded", "session": "seeded"}.get(m.group(1), "1"), path)


def test_strict_policy_on_every_route_including_errors(app):
    client = TestClient(app)
    routes = routes_of(app)
    assert len(routes) > 15
    # the server-sent-events stream never ends; its headers come from the same middleware
    urls = {concrete(p) for p, methods in routes if "GET" in methods and not p.endswith("/live")}
    urls |= {"/static/app.js", "/no/such/page", "/api/nope"}
    for url in sorted(urls):
        response = client.get(url)
        csp = response.headers.get("content-security-policy", "")
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
        assert directives.get("default-src") == "'none'", (url, csp)
        assert directives.get("script-src") == "'self'", (url, csp)
        assert directives.get("frame-ancestors") == "'none'" and directives.get("base-uri") == "'none'", (url, csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp, (url, csp)
        assert response.headers.get("x-content-type-options") == "nosniff", url
        assert "access-control-allow-origin" not in response.headers, url


def test_every_state_changing_route_needs_csrf_and_same_origin(app):
    client = TestClient(app)
    routes = [(m, concrete(p)) for p, methods in routes_of(app) for m in methods & STATE_CHANGING]
    assert routes, "the dashboard has state-changing routes"
    client.get("/")
    token = client.cookies.get("flowaudit_csrf")
    assert token and len(token) >= 20
    for method, url in routes:
        body = {"kind": "note", "name": "new-session"}
        assert client.request(method, url, json=body).status_code == 403, (method, url)
        assert client.request(method, url, json=body, headers={"X-CSRF-Token": "x" + token}).status_code == 403
        for origin in ("http://evil.example", "null", "http://testserver.evil.example"):
            refused = client.request(method, url, json=body, headers={"X-CSRF-Token": token, "Origin": origin})
            assert refused.status_code == 403, (method, url, origin)
        # a header without the cookie (another site cannot read or set our cookie) is refused too
        bare = TestClient(app)
        assert bare.request(method, url, json=body, headers={"X-CSRF-Token": token}).status_code == 403
    accepted = client.post("/api/sessions/seeded/markers", json={"kind": "note", "label": "ok"},
                           headers={"X-CSRF-Token": token, "Origin": "http://testserver"})
    assert accepted.status_code == 201


def test_preflight_gets_no_cors_grant(app):
    client = TestClient(app)
    for url in ("/api/sessions", "/api/sessions/seeded/markers"):
        response = client.options(url, headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "x-csrf-token"})
        assert not any(h.startswith("access-control-") for h in response.headers), (url, dict(response.headers))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(db: Path, host: str, port: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "flowaudit", "serve", "--db", str(db), "--host", host,
                             "--port", str(port), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_up(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("serve did not start")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


@pytest.mark.network
def test_serve_off_loopback_requires_the_printed_token(tmp_path):
    db = tmp_path / "audit.db"
    seed_session(Store(str(db)), "seeded", 20)
    port = free_port()
    # 0.0.0.0 is "not loopback" for the dashboard; the test connects over 127.0.0.1 only
    proc = serve(db, "0.0.0.0", port)  # noqa: S104 - the exposure under test
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/login", proc)
        assert httpx.get(base + "/api/sessions").status_code == 401
        assert httpx.get(base + "/").status_code == 401
        assert httpx.get(base + "/api/sessions", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    finally:
        out = stop(proc)
    match = re.search(r"access token \(shown once, stored hashed\): (\S+)", out)
    assert match, out
    token = match.group(1)
    # the token is stored hashed, never in the clear
    assert token.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("audit.db"))
    proc = serve(db, "0.0.0.0", port)  # noqa: S104
    try:
        wait_up(base + "/login", proc)
        assert httpx.get(base + "/api/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        with httpx.Client(base_url=base) as browser:
            browser.get(f"/login?token={token}")
            assert browser.get("/").status_code == 200
        assert httpx.get(base + "/api/sessions").status_code == 401
    finally:
        second = stop(proc)
    assert "access token" not in second, "the token is shown once"


@pytest.mark.network
def test_serve_on_loopback_needs_no_token(tmp_path):
    db = tmp_path / "audit.db"
    port = free_port()
    proc = serve(db, "127.0.0.2", port)
    try:
        base = f"http://127.0.0.2:{port}"
        wait_up(base + "/", proc)
        assert httpx.get(base + "/api/sessions").status_code == 200
    finally:
        out = stop(proc)
    assert "token" not in out
