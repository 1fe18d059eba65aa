from __future__ import annotations

import pytest

from flowaudit.core.compare import compare
from flowaudit.core.declarations import load_declaration
from flowaudit.core.model import Attribution, Detection, Observation, ObservationKind
from flowaudit.core.pipeline import Analysis
from flowaudit.db.engine import StorageError
from flowaudit.db.session_view import (
    load_findings,
    load_session_view,
    load_stored_declaration,
    save_findings,
    store_declaration,
)
from flowaudit.db.store import Store

DECLARATION = load_declaration({
    "app": {"name": "旅行天气", "package": "com.example.lvxingweather", "category": "天气",
            "first_party_domains": ["lvxing-weather.example.cn"]},
    "pi_list": [{"type": "手机号码"}],
    "sdk_list": [{"name": "友盟统计SDK", "sdk_id": "umeng-analytics", "pi_types": ["OAID"], "vendor": "友盟",
                  "purpose": "统计", "privacy_policy_url": "https://www.umeng.com/page/policy"}],
})


def _analyses() -> list[Analysis]:
    umeng = Attribution("umeng-analytics", "Umeng", "友盟", "Umeng", "analytics", "domain umeng.com", 1)
    imei = Detection("imei", "body", "imei", "body>gzip>json", 0.99, "luhn", "867***672", "h1")
    oaid = Detection("oaid", "body", "oaid", "body>gzip>json", 0.9, "key", "a1b***456", "h2")
    return [
        Analysis(Observation(ts=5.0, host="ulogs.umeng.com", method="POST", scheme="https", path="/unify_logs",
                             headers=[("Content-Type", "application/json")], body=b'{"imei":"[imei]"}', tls=True),
                 umeng, [imei, oaid]),
        Analysis(Observation(ts=6.0, host="api-access.pangolin-sdk-toutiao.com", kind=ObservationKind.TLS_SNI),
                 None, []),
        Analysis(Observation(ts=30.0, host="cdn.lvxing-weather.example.cn", method="GET", scheme="https",
                             path="/update/a.apk", tls=True, status=200,
                             response_headers=[("Content-Type", "application/vnd.android.package-archive")],
                             response_head=b"PK\x03\x04AndroidManifest.xml"), None, []),
    ]


def _store(db_url: str) -> Store:
    store = Store(db_url)
    info = store.open_session("demo", app_id="com.example.lvxingweather")
    store.write_analyses(info, _analyses())
    store.add_marker("demo", "consent", ts=20.0)
    return store


def test_stored_session_becomes_a_view(db_url):
    store = _store(db_url)
    view = load_session_view(store, "demo")
    assert view.name == "demo" and view.app_id == "com.example.lvxingweather"
    assert [a.observation.host for a in view.analyses] == [
        "ulogs.umeng.com", "api-access.pangolin-sdk-toutiao.com", "cdn.lvxing-weather.example.cn"]
    first = view.analyses[0]
    assert first.attribution and first.attribution.sdk_id == "umeng-analytics"
    assert [d.type for d in first.detections] == ["imei", "oaid"] and first.observation.id is not None
    # bodies stay in the database: findings never need them
    assert first.observation.body == b"" and first.observation.body_size == len(b'{"imei":"[imei]"}')
    assert view.analyses[1].observation.host_only
    assert view.analyses[2].observation.response_head.startswith(b"PK")
    assert [(m.kind, m.ts) for m in view.markers] == [("consent", 20.0)]
    assert view.sources == ["har"]
    with pytest.raises(StorageError, match="no such session"):
        load_session_view(store, "absent")


def test_findings_replace_previous_ones(db_url):
    store = _store(db_url)
    view = load_session_view(store, "demo")
    findings = compare(view, DECLARATION)
    kinds = {f.kind for f in findings}
    assert {"collected_before_consent", "data_type_not_declared_for_sdk", "silent_apk_download"} <= kinds
    assert save_findings(store, "demo", findings) == len(findings)
    assert save_findings(store, "demo", findings[:2]) == 2
    stored = load_findings(store, "demo")
    assert [(f.kind, f.evidence) for f in stored] == [(f.kind, f.evidence) for f in findings[:2]]
    assert stored[0].legal_basis == findings[0].legal_basis


def test_declarations_stored_per_session_and_per_app(db_url):
    store = _store(db_url)
    assert load_stored_declaration(store, "demo") is None
    store_declaration(store, DECLARATION, app_id="com.example.lvxingweather")
    assert load_stored_declaration(store, "demo").app.name == "旅行天气"
    changed = DECLARATION.model_copy(update={"app": DECLARATION.app.model_copy(update={"name": "session copy"})})
    store_declaration(store, changed, session_name="demo")
    assert load_stored_declaration(store, "demo").app.name == "session copy"
    with pytest.raises(ValueError):
        store_declaration(store, DECLARATION)
