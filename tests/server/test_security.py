"""Dashboard protection: escaping, CSP, CSRF, CORS, and the access token off loopback."""

from __future__ import annotations

from fastapi.testclient import TestClient

from flowaudit.db.seed import HOSTILE
from flowaudit.db.store import Store
from flowaudit.server.app import create_app
from flowaudit.server.security import ensure_token, hash_token, stored_token_hash
from tests.server.conftest import csrf_headers

PAGES = ["/", "/s/seeded/traffic", "/s/seeded/sdks", "/s/seeded/data-types", "/s/seeded/matrix", "/s/seeded/findings",
         "/s/seeded/timeline", "/s/seeded/reports"]


def test_captured_markup_is_rendered_as_text_everywhere(client: TestClient, seeded_store):
    seeded_store.add_marker("seeded", "note", HOSTILE)
    hostile_ids = [o["id"] for o in client.get("/api/sessions/seeded/observations", params={"limit": 200}).json()["items"]
                   if "script" in o["url"]]
    assert hostile_ids
    for url in PAGES + [f"/o/{hostile_ids[0]}", "/s/seeded/traffic?host=%3Cscript%3E"]:
        page = client.get(url)
        assert page.status_code == 200, url
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, url
    detail = client.get(f"/o/{hostile_ids[0]}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail


def test_every_response_carries_a_strict_policy(client: TestClient):
    for url in ["/", "/api/sessions", "/static/app.js", "/s/seeded/traffic"]:
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in client.get("/").text.replace('<script src="/static/app.js" defer></script>', "")


def test_state_changes_need_the_csrf_token_and_same_origin(client: TestClient):
    body = {"kind": "consent"}
    assert client.post("/api/sessions/seeded/markers", json=body).status_code == 403
    assert client.post("/api/sessions/seeded/markers", json=body, headers={"X-CSRF-Token": "guess"}).status_code == 403
    headers = csrf_headers(client)
    assert client.post("/api/sessions/seeded/markers", json=body, headers=headers).status_code == 201
    cross = {**headers, "Origin": "http://evil.example"}
    assert client.post("/api/sessions/seeded/markers", json=body, headers=cross).status_code == 403


def test_no_open_cors(client: TestClient):
    response = client.get("/api/sessions", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/api/sessions", headers={"Origin": "http://evil.example",
                                                         "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_access_token_is_required_when_configured(db_url):
    store = Store(db_url)
    with store.sessionmaker() as db:
        token = ensure_token(db)
        assert token and ensure_token(db) is None, "the token is shown once"
        stored = stored_token_hash(db)
    assert stored == hash_token(token) and token not in stored
    client = TestClient(create_app(store=store, token_hash=stored))
    assert client.get("/api/sessions").status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.get(f"/login?token={token}", follow_redirects=False)
    assert client.get("/").status_code == 200
