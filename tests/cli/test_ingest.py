"""The import / export / sessions commands, run as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from tests.clirun import run

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "captures" / "demo.har"
JSONL_KEYS = {"id", "session", "ts", "source", "method", "scheme", "host", "port", "url", "status", "sdk", "data", "tls"}


def _har(tmp_path: Path, entries: list[dict], name: str = "t.har") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return path


def _entry(url: str, body: str | None = None, method: str = "GET", headers: list | None = None) -> dict:
    req = {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": headers or []}
    if body is not None:
        req["postData"] = {"mimeType": "application/json", "text": body}
    return {"startedDateTime": "2026-01-01T00:00:00Z", "request": req,
            "response": {"status": 200, "headers": [], "content": {"size": 0}}}


def _jsonl(db: Path, *extra: str) -> list[dict]:
    result = run("export", "--db", str(db), "--format", "jsonl", *extra)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_import_then_export_gives_one_line_per_request(tmp_path):
    db = tmp_path / "f.db"
    result = run("import", str(DEMO), "--db", str(db), "--session", "demo", "--no-progress")
    assert result.returncode == 0, result.stderr
    entries = json.loads(DEMO.read_text(encoding="utf-8"))["log"]["entries"]
    markers = [e for e in entries if "flowaudit.mark" in e["request"]["url"]]
    lines = _jsonl(db, "--session", "demo")
    assert len(lines) == len(entries) - len(markers)
    for line in lines:
        assert JSONL_KEYS <= set(line)
        assert line["session"] == "demo" and line["source"] == "har"
        if line["sdk"] is not None:
            assert {"id", "name", "name_zh", "vendor", "category"} <= set(line["sdk"])
        for item in line["data"]:
            assert {"type", "location", "key", "encoding", "confidence"} <= set(item)
    umeng = [line for line in lines if line["host"] == "ulogs.umeng.com"]
    assert umeng and umeng[0]["sdk"]["id"] == "umeng-analytics"


def test_har_export_imports_back_to_the_same_requests(tmp_path):
    db, db2 = tmp_path / "a.db", tmp_path / "b.db"
    assert run("import", str(DEMO), "--db", str(db), "--session", "s", "--no-progress").returncode == 0
    out = tmp_path / "export.har"
    assert run("export", "--db", str(db), "--format", "har", "-o", str(out)).returncode == 0
    assert run("import", str(out), "--db", str(db2), "--session", "s", "--no-progress").returncode == 0
    first, second = _jsonl(db), _jsonl(db2)
    key = lambda r: (r["ts"], r["url"], r["method"], r["status"])  # noqa: E731
    assert sorted(map(key, first)) == sorted(map(key, second))
    assert [r["sdk"] and r["sdk"]["id"] for r in sorted(first, key=key)] == \
        [r["sdk"] and r["sdk"]["id"] for r in sorted(second, key=key)]


def test_csv_export_neutralises_formulas(tmp_path):
    db = tmp_path / "f.db"
    har = _har(tmp_path, [_entry("https://evil.example.com/=cmd|'/C calc'!A0"),
                          _entry("https://x.example.com/", headers=[{"name": "User-Agent", "value": "@SUM(1)"}])])
    assert run("import", str(har), "--db", str(db), "--session", "=HYPERLINK(\"http://x\")", "--no-progress").returncode == 0
    result = run("export", "--db", str(db), "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][0] == "id" and len(rows) == 3
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert rows[1][1].startswith("'=HYPERLINK")


@pytest.mark.parametrize("name,content", [
    ("empty.har", b""),
    ("truncated.har", b'{"log": {"version": "1.2", "entries": [{"startedDateTime": "2026'),
    ("garbage.bin", bytes(range(256)) * 8),
    ("notahar.json", b'{"glossary": {"title": "x"}}'),
])
def test_bad_input_gives_one_line_and_keeps_what_was_stored(tmp_path, name, content):
    db = tmp_path / "f.db"
    good = _har(tmp_path, [_entry("https://ulogs.umeng.com/unify_logs")], "good.har")
    assert run("import", str(good), "--db", str(db), "--session", "kept", "--no-progress").returncode == 0
    bad = tmp_path / name
    bad.write_bytes(content)
    result = run("import", str(bad), "--db", str(db), "--session", "kept", "--no-progress")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("flowaudit:")]
    assert len(error_lines) == 1 and name in error_lines[0]
    assert len(_jsonl(db, "--session", "kept")) == 1
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_missing_file_and_missing_profile_are_clear(tmp_path):
    db = tmp_path / "f.db"
    result = run("import", str(tmp_path / "nope.har"), "--db", str(db))
    assert result.returncode == 3 and "no such file" in result.stderr and "Traceback" not in result.stderr
    result = run("import", str(DEMO), "--db", str(db), "--device-profile", str(tmp_path / "p.yaml"))
    assert result.returncode == 3 and "device profile not found" in result.stderr


def test_directory_import_makes_one_session_per_file(tmp_path):
    folder = tmp_path / "caps"
    folder.mkdir()
    _har(folder, [_entry("https://a.example.com/")], "phone-a.har")
    _har(folder, [_entry("https://b.example.com/"), _entry("https://c.example.com/")], "phone-b.har")
    (folder / "notes.txt").write_text("not a capture")
    db = tmp_path / "f.db"
    result = run("import", str(folder), "--db", str(db), "--no-progress")
    assert result.returncode == 0, result.stderr
    listing = run("sessions", "list", "--db", str(db)).stdout
    assert "phone-a" in listing and "phone-b" in listing
    assert len(_jsonl(db, "--session", "phone-b")) == 2


def test_sessions_delete_removes_captured_values_from_the_file(tmp_path):
    db = tmp_path / "f.db"
    secret = "UNIQUESECRETVALUE9876543210"
    har = _har(tmp_path, [_entry("https://x.example.com/upload", body=json.dumps({"note": secret}), method="POST")])
    assert run("import", str(har), "--db", str(db), "--session", "gone", "--no-progress").returncode == 0
    assert run("import", str(DEMO), "--db", str(db), "--session", "stays", "--no-progress").returncode == 0
    assert secret.encode() in db.read_bytes() + (Path(str(db) + "-wal").read_bytes() if Path(str(db) + "-wal").exists() else b"")
    result = run("sessions", "delete", "gone", "--db", str(db), "--yes")
    assert result.returncode == 0, result.stderr
    blob = db.read_bytes() + (Path(str(db) + "-wal").read_bytes() if Path(str(db) + "-wal").exists() else b"")
    assert secret.encode() not in blob
    assert "gone" not in run("sessions", "list", "--db", str(db)).stdout
    assert _jsonl(db, "--session", "stays")
    assert run("sessions", "delete", "gone", "--db", str(db), "--yes").returncode == 3


def test_database_file_is_private(tmp_path):
    db = tmp_path / "f.db"
    assert run("import", str(DEMO), "--db", str(db), "--no-progress").returncode == 0
    assert db.stat().st_mode & 0o777 == 0o600


def test_unwritable_database_location_is_a_storage_error(tmp_path):
    result = run("import", str(DEMO), "--db", str(tmp_path / "missing-dir" / "f.db"), "--no-progress")
    assert result.returncode == 4 and "does not exist" in result.stderr and "Traceback" not in result.stderr
