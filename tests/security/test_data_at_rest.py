"""Data at rest: values are redacted by default in every stored column, raw only when the session keeps raw
evidence; `flowaudit sessions delete` and `sessions purge` really remove them from the SQLite file and its
WAL (the bytes are searched); the database files are private (0600)."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

from click.testing import CliRunner

IMEI = "867530012345672"
PHONE = "13812345678"
ANDROID_ID = "9774d56d682e549c"
VALUES = (IMEI, PHONE, ANDROID_ID)


def har(echo_in_response: bool = False) -> dict:
    body = json.dumps({"device": {"imei": IMEI, "android_id": ANDROID_ID}, "user": {"phone": PHONE}})
    entries = [{
        "startedDateTime": "2026-01-02T03:04:05Z",
        "request": {"method": "POST", "url": f"https://ulogs.umeng.com/unify_logs/{IMEI}?imei={IMEI}&phone={PHONE}",
                    "headers": [{"name": "X-Imei", "value": IMEI}, {"name": "Cookie", "value": f"aid={ANDROID_ID}"},
                                {"name": "Content-Type", "value": "application/json"}],
                    "postData": {"mimeType": "application/json", "text": body}},
        "response": {"status": 200, "headers": [],
                     "content": {"size": 40, "text": f'{{"echo": "{IMEI}"}}' if echo_in_response else "{}"}},
    }, {
        "startedDateTime": "2026-01-02T03:04:06Z",
        "request": {"method": "POST", "url": "http://collect.example.com/form",
                    "headers": [{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}],
                    "postData": {"mimeType": "application/x-www-form-urlencoded", "text": f"imei={IMEI}&tel={PHONE}"}},
        "response": {"status": 204},
    }]
    return {"log": {"version": "1.2", "entries": entries}}


def cli(db: Path, *args: str):  # type: ignore[no-untyped-def]
    from flowaudit.cli import cli as group

    result = CliRunner().invoke(group, [*args, "--db", str(db)], catch_exceptions=False)
    return result


def file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
                    if p.exists())


def stored_text(db: Path) -> str:
    """Every value of every column of every table, as text."""
    connection = sqlite3.connect(db)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = []
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from sqlite_master
                out.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
        return "\n".join(out)
    finally:
        connection.close()


def imported(tmp_path: Path, *, keep_raw: bool = False, echo: bool = False) -> Path:
    db = tmp_path / "audit.db"
    path = tmp_path / "capture.har"
    path.write_text(json.dumps(har(echo)))
    result = cli(db, "import", str(path), "--session", "run1", *(["--keep-raw"] if keep_raw else []))
    assert result.exit_code == 0, result.output
    return db


def test_values_are_redacted_by_default_in_every_column_and_in_the_file(tmp_path):
    db = imported(tmp_path)
    text = stored_text(db)
    assert "ulogs.umeng.com" in text and "imei" in text, "the import stored the requests"
    detected = sqlite3.connect(db).execute("SELECT DISTINCT type FROM detections").fetchall()
    assert {"imei", "phone_number"} <= {t for (t,) in detected}, detected
    for value in VALUES:
        assert value not in text, value
        assert value.encode() not in file_bytes(db), value


def test_values_echoed_in_the_response_are_redacted_too(tmp_path):
    db = imported(tmp_path, echo=True)
    assert IMEI not in stored_text(db)


def test_raw_values_only_when_the_session_keeps_raw_evidence(tmp_path):
    db = imported(tmp_path, keep_raw=True)
    text = stored_text(db)
    assert IMEI in text and PHONE in text
    raw = sqlite3.connect(db).execute("SELECT count(*) FROM detections WHERE raw_value IS NOT NULL").fetchone()[0]
    assert raw > 0


def test_sessions_delete_scrubs_the_file_and_the_wal(tmp_path):
    db = imported(tmp_path, keep_raw=True)
    other = tmp_path / "other.har"
    other.write_text(json.dumps({"log": {"entries": [{"startedDateTime": "2026-01-02T03:04:05Z",
                                                      "request": {"url": "https://keep.example.com/ok"}}]}}))
    assert cli(db, "import", str(other), "--session", "keep").exit_code == 0
    assert IMEI.encode() in file_bytes(db)
    result = cli(db, "sessions", "delete", "run1", "--yes")
    assert result.exit_code == 0, result.output
    for value in VALUES:
        assert value.encode() not in file_bytes(db), value
    # the other session is intact, and the database still opens cleanly
    assert "keep.example.com" in stored_text(db)
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert cli(db, "sessions", "delete", "run1", "--yes").exit_code == 3


def test_retention_purge_scrubs_bodies_and_raw_values(tmp_path):
    db = imported(tmp_path, keep_raw=True)
    result = cli(db, "sessions", "purge", "--older-than", "0")
    assert result.exit_code == 0, result.output
    for value in VALUES:
        assert value.encode() not in file_bytes(db), value
    assert "ulogs.umeng.com" in stored_text(db), "redacted metadata stays"


def test_database_files_are_private(tmp_path):
    db = imported(tmp_path)
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS t_probe (x)")
    connection.execute("INSERT INTO t_probe VALUES (1)")
    connection.commit()
    files = [p for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")) if p.exists()]
    assert db in files and len(files) >= 2
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"
    connection.close()


def test_binary_bodies_are_withheld_by_default(tmp_path):
    import base64

    binary = b"\x00\x01\x02\xff" * 8 + f"imei={IMEI}".encode() + b"\x00\xfe" * 16
    entry = {"startedDateTime": "2026-01-02T03:04:05Z",
             "request": {"method": "POST", "url": "https://upload.example.com/bin",
                         "headers": [{"name": "Content-Type", "value": "application/octet-stream"}],
                         "postData": {"mimeType": "application/octet-stream",
                                      "text": base64.b64encode(binary).decode(), "encoding": "base64"}}}
    path = tmp_path / "binary.har"
    path.write_text(json.dumps({"log": {"entries": [entry]}}))
    db = tmp_path / "audit.db"
    assert cli(db, "import", str(path), "--session", "bin").exit_code == 0
    assert cli(db, "import", str(path), "--session", "bin-raw", "--keep-raw").exit_code == 0
    rows = dict(sqlite3.connect(db).execute(
        "SELECT s.name, o.body_stored || ':' || coalesce(length(o.body), 0) FROM observations o "
        "JOIN sessions s ON s.id = o.session_id").fetchall())
    assert rows["bin"] == "withheld:0", rows
    assert rows["bin-raw"] == f"full:{len(binary)}", rows
