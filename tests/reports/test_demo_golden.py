"""The bundled demo session (captures/demo.har, made by captures/make_demo.py) compared with its
declaration: the findings the demo story promises, in every format, and the golden findings file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from flowaudit.core.compare import compare
from flowaudit.core.profile import DeviceProfile
from flowaudit.db.session_view import load_session_view
from flowaudit.db.store import Store
from flowaudit.declare_import import import_files
from flowaudit.reports import FORMATS, build_report, render
from flowaudit.signature_db import default_index

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / "captures"
DEMO = CAPTURES / "demo.har"
GOLDEN = REPO / "tests" / "data" / "golden" / "demo-findings.json"

pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="captures/demo.har not generated yet "
                                                          "(python captures/make_demo.py)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from flowaudit.db.writer import Writer
    from flowaudit.ingest import import_file

    db = str(tmp_path_factory.mktemp("demo") / "demo.db")
    store = Store(db)
    profile = DeviceProfile.from_mapping(yaml.safe_load((CAPTURES / "demo-device-profile.yaml").read_text("utf-8")))
    info = store.open_session("demo", app_id="com.example.lvxingweather", device_profile=profile,
                              first_party=["lvxing-weather.example.cn"])
    writer = Writer(store)
    import_file(store, writer, default_index(), DEMO, info)
    writer.close()
    index = default_index()
    view = load_session_view(store, "demo", index)
    store.close()
    declaration = import_files([CAPTURES / "demo-declaration.yaml"], signatures=list(index.signatures.values())).declaration
    return view, declaration, index


def _compact(findings) -> list[list]:
    return sorted(([f.kind, str(f.severity), f.sdk_id or "", f.data_type or "", f.host or "", len(f.evidence)]
                   for f in findings), key=json.dumps)


def test_demo_story_findings(demo):
    view, declaration, index = demo
    findings = compare(view, declaration, index)
    found = {(f.kind, f.sdk_id or f.host, f.data_type) for f in findings}
    kinds = {f.kind for f in findings}

    def has(kind, subject=None, data_type=None, types=None):
        for f in findings:
            if f.kind != kind or (subject and subject not in (f.sdk_id, f.host) and not (f.sdk_id or "").startswith(subject)):
                continue
            if data_type and f.data_type != data_type and data_type not in f.details.get("data_types", []):
                continue
            return True
        raise AssertionError(f"missing {kind} {subject} {data_type}; found {sorted(found)}")

    has("undeclared_sdk", "tencent-gdt")
    has("collected_before_consent", "umeng-analytics", "imei")
    has("collected_before_consent", "tencent-gdt", "precise_location")
    has("immutable_device_id", "umeng-analytics", "imei")
    has("immutable_device_id", "getui-push", "mac_address")
    has("data_type_not_declared_for_sdk", "umeng-analytics", "imei")
    has("excessive_frequency", "amap", "precise_location")
    has("cleartext_transmission_of_pi", "api.lvxing-weather.example.cn", "phone_number")
    has("undeclared_recipient", "collect.adtrack-x.example.com")
    has("undeclared_data_type", None, "installed_apps")
    has("silent_apk_download", "cdn.lvxing-weather.example.cn")
    has("hot_update_payload", "cdn.lvxing-weather.example.cn")
    has("opaque_payload", "shumei")
    has("sensitive_pi_not_marked", None, "precise_location")
    has("declared_not_observed", "huawei-push")
    has("sdk_entry_incomplete", "shumei")
    has("beyond_necessary_scope")
    assert "collected_after_refusal" not in kinds            # the demo never refuses
    # the first-party login is not an undeclared recipient; Sensors Data on the app's host is an SDK
    assert not any(f.kind == "undeclared_recipient" and f.host == "api.lvxing-weather.example.cn" for f in findings)
    assert not any(f.kind == "undeclared_sdk" and f.sdk_id in ("umeng-analytics", "getui-push", "sensorsdata-analytics")
                   for f in findings)
    for f in findings:
        assert f.legal_basis and f.title_zh and f.explanation_en
        if f.kind not in ("sdk_entry_incomplete", "declared_not_observed", "sensitive_pi_not_marked"):
            assert f.evidence, f.kind


def test_published_tables_give_the_same_findings(demo):
    view, declaration, index = demo
    tables = import_files([CAPTURES / "demo-sdk-list.md", CAPTURES / "demo-pi-list.csv"], app_name="旅行天气",
                          signatures=list(index.signatures.values())).declaration
    tables = tables.model_copy(update={"app": declaration.app, "consent": declaration.consent})
    assert _compact(compare(view, tables, index)) == _compact(compare(view, declaration, index))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_report_in_every_format(demo, lang):
    view, declaration, index = demo
    findings = compare(view, declaration, index)
    report = build_report(view, findings, declaration, index, lang=lang, declaration_source="demo-declaration.yaml")
    for fmt in FORMATS:
        assert render(report, fmt), fmt
    by_kind = {f["kind"]: f for f in report["findings"]}
    before = by_kind["collected_before_consent"]
    assert before["evidence"] and before["evidence"][0]["fields"] and before["legal_basis"]
    assert any(e["what"] == "marker" and e["marker"] == "consent" for e in report["timeline"])
    assert report["method"]["device_profile_types"] and report["method"]["signature_db"]["count"] > 0


def test_golden_findings(demo):
    view, declaration, index = demo
    compact = _compact(compare(view, declaration, index))
    if os.environ.get("FLOWAUDIT_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(compact, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not GOLDEN.exists():
        pytest.skip("no golden file yet: FLOWAUDIT_UPDATE_GOLDEN=1 pytest tests/reports/test_demo_golden.py")
    assert compact == json.loads(GOLDEN.read_text(encoding="utf-8"))
