from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("FLOWAUDIT_TEST_PG")


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh empty database: a SQLite file, and a real PostgreSQL server when FLOWAUDIT_TEST_PG is set."""
    if request.param == "sqlite":
        return str(tmp_path / "flowaudit.db")
    if not PG_URL:
        pytest.skip("FLOWAUDIT_TEST_PG not set (scripts/test.sh starts a PostgreSQL server)")
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def sqlite_path(tmp_path) -> str:
    return str(tmp_path / "flowaudit.db")


def pytest_sessionfinish(session, exitstatus) -> None:
    """Writer processes started by in-process addon tests ignore SIGTERM by design (they must flush);
    end any that a test left behind so the interpreter can exit."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
        child.join(5)
