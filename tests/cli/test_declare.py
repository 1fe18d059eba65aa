"""`flowaudit declare import|check|schema`, run as a user runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.clirun import run

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / "captures"


def test_check_reports_issues_and_exits_1():
    result = run("declare", "check", str(CAPTURES / "demo-declaration.yaml"))
    assert result.returncode == 1, result.stderr
    assert "sensitive_not_marked" in result.stdout and "pi_list[1]" in result.stdout
    assert "8 SDK entries" in result.stdout


def test_check_clean_declaration_exits_0(tmp_path):
    clean = tmp_path / "clean.yaml"
    clean.write_text("format_version: 1\napp: {name: x}\npi_list:\n  - {type: 精准定位, sensitive: true}\n"
                     "sdk_list:\n  - {name: 友盟统计SDK, package: com.umeng.analytics}\n", encoding="utf-8")
    result = run("declare", "check", "--json", str(clean))
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["issues"] == [] and doc["sdk_matches"][0]["sdk_ids"] == ["umeng-analytics"]


def test_import_published_tables_into_a_session(tmp_path):
    db = tmp_path / "f.db"
    out = tmp_path / "resolved.yaml"
    from flowaudit.db.store import Store
    Store(str(db)).open_session("demo", app_id="com.example.lvxingweather")
    result = run("declare", "import", str(CAPTURES / "demo-sdk-list.md"), str(CAPTURES / "demo-pi-list.csv"),
                 "--db", str(db), "--session", "demo", "--name", "旅行天气", "--category", "天气",
                 "--first-party", "lvxing-weather.example.cn", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "8 SDK entries" in result.stdout and "stored as declaration" in result.stdout
    with sqlite3.connect(db) as conn:
        (content,) = conn.execute("select content from declarations").fetchone()
    stored = json.loads(content)
    assert stored["app"]["name"] == "旅行天气" and len(stored["sdk_list"]) == 8 and len(stored["pi_list"]) == 4
    assert stored["sdk_list"][0]["sdk_id"] == "umeng-analytics"
    assert stored["app"]["category"] == "utility_tools"
    assert stored["app"]["first_party_domains"] == ["lvxing-weather.example.cn"]
    again = run("declare", "check", str(out))
    assert again.returncode == 1 and "sensitive_not_marked" in again.stdout


def test_bad_input_and_usage_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("app: {name: x, colour: red}\n", encoding="utf-8")
    result = run("declare", "check", str(bad))
    assert result.returncode == 3 and "app.colour" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    category = run("declare", "import", str(CAPTURES / "demo-sdk-list.md"), "--category", "宠物", "-o",
                   str(tmp_path / "o.yaml"))
    assert category.returncode == 3 and "unknown app category" in category.stderr
    usage = run("declare", "import", str(CAPTURES / "demo-declaration.yaml"))
    assert usage.returncode == 2 and "--session" in usage.stderr
    missing = run("declare", "import", str(CAPTURES / "demo-declaration.yaml"), "--db", str(tmp_path / "x.db"),
                  "--session", "absent")
    assert missing.returncode == 4 and "no such session" in missing.stderr


def test_schema_command_matches_committed_schema():
    result = run("declare", "schema")
    assert result.returncode == 0
    assert result.stdout == (REPO / "docs" / "declaration.schema.json").read_text(encoding="utf-8")
