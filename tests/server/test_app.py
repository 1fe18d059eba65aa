"""The JSON API against a seeded database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from flowaudit.db.seed import HOSTILE
from tests.server.conftest import csrf_headers


def test_sessions_list_and_create(client: TestClient):
    [seeded] = client.get("/api/sessions").json()
    assert seeded["name"] == "seeded" and seeded["observations"] == 300 and seeded["sdks"] == 4
    created = client.post("/api/sessions", json={"name": "phone-2", "app_id": "com.example"}, headers=csrf_headers(client))
    assert created.status_code == 201 and created.json()["observations"] == 0
    again = client.post("/api/sessions", json={"name": "phone-2"}, headers=csrf_headers(client))
    assert again.status_code == 409
    assert client.post("/api/sessions", json={"name": "bad/name"}, headers=csrf_headers(client)).status_code == 422
    assert client.get("/api/sessions/nope").status_code == 404


def test_observations_are_paginated_newest_first_without_gaps(client: TestClient):
    seen, before = [], None
    while True:
        page = client.get("/api/sessions/seeded/observations", params={"limit": 70, **({"before": before} if before else {})}).json()
        seen += [o["id"] for o in page["items"]]
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == 300 and seen == sorted(seen, reverse=True) and len(set(seen)) == 300
    assert client.get("/api/sessions/seeded/observations", params={"limit": 500}).status_code == 422


def test_filters_narrow_the_list(client: TestClient):
    def ids(**params):
        return {o["id"] for o in client.get("/api/sessions/seeded/observations", params={"limit": 200, **params}).json()["items"]}

    umeng = client.get("/api/sessions/seeded/observations", params={"sdk": "umeng-analytics", "limit": 200}).json()["items"]
    assert umeng and all(o["sdk"]["id"] == "umeng-analytics" for o in umeng)
    imei = client.get("/api/sessions/seeded/observations", params={"data_type": "imei", "limit": 200}).json()["items"]
    assert imei and all(any(d["type"] == "imei" for d in o["data"]) for o in imei)
    assert ids(party="first") and ids(party="first").isdisjoint(ids(party="third"))
    unattributed = client.get("/api/sessions/seeded/observations", params={"party": "unattributed", "limit": 200}).json()["items"]
    assert unattributed and {o["host"] for o in unattributed} == {"collect.adtrack-x.example.com"}
    before, after = ids(consent="before"), ids(consent="after")
    assert len(before) == 100 and before.isdisjoint(after)
    assert ids(host=".example.com") == {o["id"] for o in unattributed}


def test_live_cursor_returns_only_newer(client: TestClient, seeded_store):
    page = client.get("/api/sessions/seeded/observations", params={"limit": 1}).json()
    newest = page["items"][0]["id"]
    assert client.get("/api/sessions/seeded/observations", params={"after": newest}).json()["items"] == []
    newer = client.get("/api/sessions/seeded/observations", params={"after": newest - 3}).json()["items"]
    assert [o["id"] for o in newer] == [newest, newest - 1, newest - 2]


def test_markers_need_a_known_kind(client: TestClient):
    headers = csrf_headers(client)
    made = client.post("/api/sessions/seeded/markers", json={"kind": "refuse", "label": HOSTILE}, headers=headers)
    assert made.status_code == 201 and made.json()["kind"] == "refusal"
    assert client.post("/api/sessions/seeded/markers", json={"kind": "teleport"}, headers=headers).status_code == 422
    kinds = [m["kind"] for m in client.get("/api/sessions/seeded/markers").json()]
    assert kinds == ["consent", "refusal"]


def test_sdk_and_data_type_summaries(client: TestClient):
    sdks = {s["sdk"]["id"]: s for s in client.get("/api/sessions/seeded/sdks").json()}
    assert set(sdks) == {"umeng-analytics", "tencent-gdt", "getui-push", "amap-location"}
    assert set(sdks["umeng-analytics"]["types"]) == {"imei", "oaid", "android_id"}
    assert sum(s["requests"] for s in sdks.values()) < 300
    assert all(s["declared"] is None for s in sdks.values())
    types = {t["type"]: t for t in client.get("/api/sessions/seeded/data-types").json()}
    assert types["imei"]["recipients"] == {"umeng-analytics": types["imei"]["detections"]}
    assert types["installed_apps"]["recipients"] == {"collect.adtrack-x.example.com": types["installed_apps"]["detections"]}


def test_observation_detail_and_exports(client: TestClient):
    first = client.get("/api/sessions/seeded/observations", params={"limit": 1}).json()["items"][0]
    detail = client.get(f"/api/observations/{first['id']}").json()
    assert detail == first
    assert client.get("/api/observations/999999").status_code == 404
    jsonl = client.get("/api/sessions/seeded/export", params={"format": "jsonl"})
    assert jsonl.status_code == 200 and len(jsonl.text.splitlines()) == 300
    assert "attachment" in jsonl.headers["content-disposition"]


def test_openapi_documents_the_api(client: TestClient):
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/sessions", "/api/sessions/{name}/observations", "/api/sessions/{name}/markers",
                 "/api/sessions/{name}/sdks", "/api/sessions/{name}/data-types", "/api/sessions/{name}/findings",
                 "/api/sessions/{name}/report", "/api/declaration.schema.json"):
        assert path in spec["paths"], path
    schema = client.get("/api/declaration.schema.json").json()
    assert "sdk_list" in schema["properties"] and "pi_list" in schema["properties"]
    published = Path(__file__).resolve().parents[2] / "docs" / "declaration.schema.json"
    assert schema == json.loads(published.read_text(encoding="utf-8")), "the API serves the published schema"
