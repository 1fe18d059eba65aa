from __future__ import annotations

from flowaudit.reports.data import build_report, signature_db_info


def test_summary_counts_and_evidence(hostile_report):
    r = hostile_report("en")
    kinds = {f["kind"] for f in r["findings"]}
    assert {"undeclared_sdk", "collected_before_consent", "cleartext_transmission_of_pi", "silent_apk_download",
            "immutable_device_id", "sdk_entry_incomplete"} <= kinds
    assert sum(r["summary"]["findings_by_severity"].values()) == len(r["findings"]) == r["summary"]["findings"]
    assert r["summary"]["sdks_undeclared"] == ["tencent-gdt"]
    assert r["summary"]["pi_declared"][0]["observed"] is False and r["summary"]["pi_declared"][0]["sensitive"] is None
    assert {t["type"] for t in r["summary"]["types_seen"]} == {"imei", "oaid", "phone_number"}
    before = next(f for f in r["findings"] if f["kind"] == "collected_before_consent" and f["sdk_id"] == "tencent-gdt")
    ev = before["evidence"][0]
    assert ev["observation_id"] == 1 and ev["request_line"].startswith("GET https://mi.gdt.qq.com/")
    assert {d["type"] for d in ev["fields"]} == {"imei", "oaid"}
    assert ev["fields"][0]["encoding"] == "query>json"
    assert before["legal_basis"].startswith("Identification Method") and before["legal_basis_zh"].startswith("《App")
    assert [e["what"] for e in r["timeline"]] == ["request", "request", "marker", "request"]
    assert r["method"]["device_profile_types"] == ["imei"] and r["method"]["capture_sources"] == ["har"]
    assert r["method"]["consent_offset"] == 20.0 and r["method"]["refusal_offset"] is None


def test_chinese_titles_and_type_names(hostile_report):
    r = hostile_report("zh")
    f = next(f for f in r["findings"] if f["kind"] == "immutable_device_id")
    assert f["title"] == f["title_zh"] and "IMEI" in f["data_type_name"]


def test_signature_db_info_is_stable():
    class Index:
        signatures: dict = {}
    assert signature_db_info(Index()) == {"count": 0, "digest": None}
    from flowaudit.signature_db import default_index
    info = signature_db_info(default_index())
    assert info["count"] == len(default_index().signatures) and info == signature_db_info(default_index())


def test_report_without_declaration(hostile_inputs):
    from flowaudit.core.compare import compare
    view, _ = hostile_inputs
    r = build_report(view, compare(view, None), None)
    assert r["declaration"] is None and r["summary"]["sdks_seen"][0]["declared"] is None
    view.markers.clear()
    from flowaudit.reports import render
    r = build_report(view, compare(view, None), None, lang="en")
    assert r["method"]["consent_offset"] is None
    assert b"collection before consent and after refusal were not checked" in render(r, "html")
    assert "were not checked" in render(r, "md").decode("utf-8")
