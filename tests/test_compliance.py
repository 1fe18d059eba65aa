"""The comparison run shared by the report command and the dashboard, on the bundled demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from flowaudit.compliance import MEDIA_TYPES, render_report, run_comparison
from flowaudit.core.declarations import load_declaration
from flowaudit.db.session_view import load_findings, store_declaration
from flowaudit.db.store import Store
from flowaudit.db.writer import Writer
from flowaudit.ingest import import_file
from flowaudit.server.app import create_app
from flowaudit.signature_db import default_index
from tests.server.conftest import csrf_headers

CAPTURES = Path(__file__).resolve().parents[1] / "captures"


@pytest.fixture
def demo_store(db_url) -> Store:
    store = Store(db_url)
    session = store.open_session("demo", app_id="com.example.lvxingweather", first_party=["lvxing-weather.example.cn"])
    writer = Writer(store)
    import_file(store, writer, default_index(), CAPTURES / "demo.har", session)
    writer.close()
    declaration = load_declaration(yaml.safe_load((CAPTURES / "demo-declaration.yaml").read_text(encoding="utf-8")))
    store_declaration(store, declaration, session_name="demo")
    return store


def test_demo_run_finds_what_the_demo_app_does_wrong(demo_store):
    result = run_comparison(demo_store, "demo", default_index(), lang="en")
    kinds = {f.kind for f in result.findings}
    assert {"undeclared_sdk", "collected_before_consent", "silent_apk_download", "hot_update_payload",
            "cleartext_transmission_of_pi", "undeclared_recipient", "immutable_device_id",
            "excessive_frequency", "declared_not_observed"} <= kinds
    assert "collected_after_refusal" not in kinds, "the demo user never refused"
    gdt = [f for f in result.findings if f.kind == "undeclared_sdk"]
    assert any(f.sdk_id == "tencent-gdt" for f in gdt)
    assert all(f.evidence for f in result.findings if f.kind != "declared_not_observed" and f.kind != "sdk_entry_incomplete")
    assert {f.kind for f in load_findings(demo_store, "demo")} == kinds


@pytest.mark.parametrize("fmt", sorted(MEDIA_TYPES))
def test_every_report_format_renders(demo_store, fmt):
    data, media = render_report(run_comparison(demo_store, "demo", default_index(), lang="zh", save=False), fmt)
    assert data and media == MEDIA_TYPES[fmt]
    if fmt in ("json", "sarif"):
        json.loads(data)


def test_dashboard_refresh_and_downloads(demo_store):
    client = TestClient(create_app(store=demo_store))
    refreshed = client.post("/api/sessions/demo/findings/refresh", headers=csrf_headers(client))
    assert refreshed.status_code == 200 and refreshed.json()
    assert client.get("/api/sessions/demo/findings").json() == refreshed.json()
    page = client.get("/s/demo/findings?lang=en").text
    assert "undeclared_sdk" in page and "Legal basis" in page
    for fmt in MEDIA_TYPES:
        response = client.get("/api/sessions/demo/report", params={"format": fmt, "lang": "en"})
        assert response.status_code == 200 and response.headers["content-type"].startswith(MEDIA_TYPES[fmt].split(";")[0])
    sdks = {s["sdk"]["id"]: s for s in client.get("/api/sessions/demo/sdks").json()}
    assert sdks["tencent-gdt"]["declared"] is False and sdks["umeng-analytics"]["declared"] is True
    matrix = client.get("/s/demo/matrix?lang=en").text
    assert 'class="cell both"' in matrix and 'class="cell observed"' in matrix
