"""Engine creation: SQLite by default (WAL, 0600 file, secure_delete), any SQLAlchemy URL otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_DB = "flowaudit.db"


class StorageError(RuntimeError):
    """A database problem the user can act on (bad URL, unwritable file, failed migration)."""


def database_url(value: str | None) -> str:
    """Turn --db / FLOWAUDIT_DB (a path or a SQLAlchemy URL) into a URL."""
    value = value or os.environ.get("FLOWAUDIT_DB") or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def _prepare_sqlite_file(path: str) -> None:
    if not path or path == ":memory:":
        return
    file = Path(path)
    if not file.parent.exists():
        raise StorageError(f"database directory does not exist: {file.parent}")
    if not file.exists():
        try:
            fd = os.open(file, os.O_CREAT | os.O_WRONLY, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot create database {file}: {exc.strerror}") from None
        os.close(fd)
    elif not os.access(file, os.R_OK):
        raise StorageError(f"cannot read database {file}")


def make_engine(value: str | None = None, *, readonly: bool = False) -> Engine:
    url = make_url(database_url(value))
    if url.get_backend_name() == "sqlite":
        if not readonly:
            _prepare_sqlite_file(url.database or "")
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
