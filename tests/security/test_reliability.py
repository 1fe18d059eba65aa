"""Storage faults seen by the importer and the session commands (the proxy's own fault tests live in
tests/cli/test_proxy.py): a full disk, a locked database, a read-only database directory. Each gives a clear
one-line error or waits and completes; none loses what was already stored."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


def har(entries: int, tag: str, body_size: int = 200) -> dict:
    body = json.dumps({"pad": "x" * body_size, "tag": tag})
    return {"log": {"version": "1.2", "entries": [
        {"startedDateTime": "2026-01-02T03:04:05Z",
         "request": {"method": "POST", "url": f"https://api.example.com/log?tag={tag}&n={n}",
                     "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "postData": {"mimeType": "application/json", "text": body}},
         "response": {"status": 200}} for n in range(entries)]}}


def run(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowaudit", *args, "--no-progress"] if args[0] == "import" else
                          [sys.executable, "-m", "flowaudit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def count(db: Path, tag: str) -> int:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT count(*) FROM observations WHERE query LIKE ?", (f"tag={tag}&%",)).fetchone()[0]
    finally:
        connection.close()


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a small tmpfs")
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {proc.stderr.decode(errors='replace').strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def test_disk_full_during_import_is_a_clear_error_and_keeps_what_was_stored(tmp_path, small_disk):
    db = small_disk / "audit.db"
    first, big = tmp_path / "first.har", tmp_path / "big.har"
    first.write_text(json.dumps(har(20, "first")))
    big.write_text(json.dumps(har(3000, "big", body_size=2000)))
    done = run(tmp_path, "import", str(first), "--db", str(db), "--session", "first", "--keep-raw")
    assert done.returncode == 0, done.stderr
    full = run(tmp_path, "import", str(big), "--db", str(db), "--session", "big", "--keep-raw")
    assert full.returncode != 0, full.stdout
    assert "Traceback" not in full.stderr
    message = full.stderr.strip().splitlines()
    # one line per failed batch as it happens, then one summary line with the count
    assert message and "could not be stored" in message[-1] and "full" in message[-1], full.stderr
    assert all("full" in line for line in message), full.stderr
    # what was stored before is intact and the database opens cleanly
    assert count(db, "first") == 20
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_locked_database_makes_the_import_wait_then_complete(tmp_path):
    db = tmp_path / "audit.db"
    seed = tmp_path / "seed.har"
    seed.write_text(json.dumps(har(1, "seed")))
    assert run(tmp_path, "import", str(seed), "--db", str(db)).returncode == 0
    locker = sqlite3.connect(db, timeout=1, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def release() -> None:
        time.sleep(3)
        locker.execute("COMMIT")
        released.set()

    threading.Thread(target=release, daemon=True).start()
    path = tmp_path / "later.har"
    path.write_text(json.dumps(har(50, "later")))
    started = time.monotonic()
    proc = run(tmp_path, "import", str(path), "--db", str(db), "--session", "later")
    assert released.is_set() and time.monotonic() - started >= 2.5
    assert proc.returncode == 0, proc.stderr
    assert count(db, "later") == 50
    locker.close()


def test_read_only_database_directory_for_session_commands(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    db = tmp_path / "ro" / "audit.db"
    db.parent.mkdir()
    seed = tmp_path / "seed.har"
    seed.write_text(json.dumps(har(3, "seed")))
    assert run(tmp_path, "import", str(seed), "--db", str(db)).returncode == 0
    db.parent.chmod(0o500)
    try:
        proc = run(tmp_path, "sessions", "delete", "seed", "--db", str(db), "--yes")
        assert proc.returncode == 4 and "Traceback" not in proc.stderr, proc.stderr
    finally:
        db.parent.chmod(0o700)
    assert count(db, "seed") == 3


def test_read_only_database_file_is_a_storage_error(tmp_path):
    db = tmp_path / "audit.db"
    seed = tmp_path / "seed.har"
    seed.write_text(json.dumps(har(3, "seed")))
    assert run(tmp_path, "import", str(seed), "--db", str(db)).returncode == 0
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    # a read-only mount is what root cannot write through; bind-mount the directory read-only
    if os.geteuid() != 0:
        pytest.skip("needs root to bind-mount read-only")
    ro = tmp_path / "ro-view"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", "-o", "ro", str(tmp_path), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True)
        probe = ro / "probe"
        try:
            probe.write_text("x")
            pytest.skip("bind mount is writable here")
        except OSError:
            pass
        proc = run(tmp_path, "import", str(seed), "--db", str(ro / "audit.db"), "--session", "again")
        assert proc.returncode == 4, (proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 3, proc.stderr
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)
    assert count(db, "seed") == 3
