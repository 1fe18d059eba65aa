from __future__ import annotations

import os

import pytest
from sqlalchemy import inspect, text

from flowaudit.db.engine import StorageError, database_url, make_engine, migrate


def test_paths_become_sqlite_urls_and_urls_pass_through(tmp_path, monkeypatch):
    assert database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url("postgresql+psycopg://u@127.0.0.1/db") == "postgresql+psycopg://u@127.0.0.1/db"
    monkeypatch.setenv("FLOWAUDIT_DB", str(tmp_path / "env.db"))
    assert database_url(None).endswith("env.db")


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path):
    engine = make_engine(str(tmp_path / "x.db"))
    migrate(engine)
    assert os.stat(tmp_path / "x.db").st_mode & 0o777 == 0o600
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_missing_directory_is_reported(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        make_engine(str(tmp_path / "no" / "x.db"))


def test_migrations_reach_head_and_are_idempotent(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"sessions", "markers", "observations", "detections", "declarations", "findings", "events"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() >= "0002"
    columns = {c["name"] for c in inspect(engine).get_columns("sessions")}
    assert "first_party" in columns
