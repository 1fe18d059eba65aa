"""`flowaudit report`: formats, --fail-on exit codes, stored declarations and findings."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from flowaudit.cli import cli
from flowaudit.core.model import Attribution, Detection, Observation
from flowaudit.core.pipeline import Analysis
from flowaudit.db.store import Store
from tests.clirun import run

REPO = Path(__file__).resolve().parents[2]
DECLARATION = REPO / "captures" / "demo-declaration.yaml"


def _db(tmp_path: Path) -> str:
    db = str(tmp_path / "r.db")
    store = Store(db)
    info = store.open_session("s1", app_id="com.example.lvxingweather", first_party=["lvxing-weather.example.cn"])
    umeng = Attribution("umeng-analytics", "Umeng", "友盟", "Umeng", "analytics", "domain umeng.com", 1)
    store.write_analyses(info, [
        Analysis(Observation(ts=10.0, host="ulogs.umeng.com", method="POST", scheme="https", tls=True,
                             path="/unify_logs"), umeng,
                 [Detection("imei", "body", "imei", "body>gzip>json", 0.99, "luhn", "867***672", "h")]),
        Analysis(Observation(ts=30.0, host="api.lvxing-weather.example.cn", method="POST", scheme="http",
                             path="/v1/login"), None,
                 [Detection("phone_number", "body", "phone", "body>form", 0.97, "regex", "138****5678", "p")]),
    ])
    store.add_marker("s1", "consent", ts=20.0)
    store.close()
    return db


@pytest.mark.parametrize("fmt", ["json", "html", "md", "csv", "xlsx", "sarif"])
def test_every_format(tmp_path, fmt):
    db = _db(tmp_path)
    out = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(cli, ["report", "--db", db, "--session", "s1", "--declared", str(DECLARATION),
                                      "--format", fmt, "-o", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    if fmt == "json":
        kinds = {f["kind"] for f in json.loads(data)["findings"]}
        assert {"collected_before_consent", "cleartext_transmission_of_pi", "data_type_not_declared_for_sdk"} <= kinds
    elif fmt == "html":
        assert b"<!DOCTYPE html>" in data and b"collected_before_consent" in data
    elif fmt == "md":
        assert data.startswith(b"# flowaudit compliance report")
    elif fmt == "csv":
        assert b"cleartext_transmission_of_pi" in data
    elif fmt == "xlsx":
        assert load_workbook(io.BytesIO(data)).sheetnames[0] == "summary"
    else:
        assert json.loads(data)["version"] == "2.1.0"


def test_fail_on_exit_codes_and_stored_findings(tmp_path):
    db = _db(tmp_path)
    high = run("report", "--db", db, "--session", "s1", "--declared", str(DECLARATION), "--format", "sarif",
               "--fail-on", "high")
    assert high.returncode == 1, high.stderr
    assert json.loads(high.stdout)["runs"][0]["results"]
    ok = run("report", "--db", db, "--session", "s1", "--declared", str(DECLARATION), "--format", "json",
             "-o", str(tmp_path / "r.json"), "--fail-on", "critical")
    assert ok.returncode == 0, ok.stderr
    assert "findings" in ok.stderr
    with sqlite3.connect(db) as conn:
        stored = conn.execute("select count(*) from findings").fetchone()[0]
    assert stored == len(json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["findings"])


def test_errors_are_one_line(tmp_path):
    db = _db(tmp_path)
    missing = run("report", "--db", db, "--session", "nope", "--format", "json")
    assert missing.returncode == 4 and "no such session" in missing.stderr and "Traceback" not in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    broken = run("report", "--db", db, "--session", "s1", "--declared", str(bad))
    assert broken.returncode == 3 and "not valid JSON" in broken.stderr


def test_stored_declaration_is_used(tmp_path):
    db = _db(tmp_path)
    runner = CliRunner()
    imported = runner.invoke(cli, ["declare", "import", str(DECLARATION), "--db", db, "--app", "com.example.lvxingweather"])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(cli, ["report", "--db", db, "--session", "s1", "--format", "json", "-o",
                                 str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["declaration"]["source"] == "stored declaration"
    assert any(f["kind"] == "data_type_not_declared_for_sdk" for f in report["findings"])
    without = runner.invoke(cli, ["report", "--db", db, "--session", "s1", "--format", "json", "--no-store",
                                  "-o", str(tmp_path / "r2.json")])
    assert without.exit_code == 0


@pytest.mark.skipif(not (REPO / "captures" / "demo.har").exists(), reason="captures/demo.har not generated yet")
def test_demo_workflow_end_to_end(tmp_path):
    db = str(tmp_path / "demo.db")
    captures = REPO / "captures"
    imported = run("import", str(captures / "demo.har"), "--db", db, "--session", "demo", "--app-id",
                   "com.example.lvxingweather", "--first-party", "lvxing-weather.example.cn", "--device-profile",
                   str(captures / "demo-device-profile.yaml"), "--no-progress")
    assert imported.returncode == 0, imported.stderr
    declared = run("declare", "import", str(captures / "demo-sdk-list.md"), str(captures / "demo-pi-list.csv"),
                   "--db", db, "--app", "com.example.lvxingweather", "--name", "旅行天气")
    assert declared.returncode == 0, declared.stderr
    out = tmp_path / "demo.html"
    report = run("report", "--db", db, "--session", "demo", "--format", "html", "-o", str(out), "--fail-on", "high")
    assert report.returncode == 1, report.stderr          # the demo app has high findings
    html = out.read_text(encoding="utf-8")
    for kind in ("undeclared_sdk", "collected_before_consent", "silent_apk_download", "hot_update_payload",
                 "cleartext_transmission_of_pi", "excessive_frequency", "immutable_device_id"):
        assert kind in html, kind
    assert "认定方法" in html and "GB/T 41391-2022" in html
