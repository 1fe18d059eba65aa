from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from flowaudit.core.model import Observation
from flowaudit.core.pipeline import Analysis
from flowaudit.db.models import EventRow, ObservationRow
from flowaudit.db.store import SessionInfo, Store
from flowaudit.db.writer import Writer, WriterError


def _count(store: Store) -> int:
    with store.sessionmaker() as db:
        return db.scalar(select(func.count()).select_from(ObservationRow))


def test_everything_submitted_from_many_threads_is_stored(db_url):
    store = Store(db_url)
    session = store.open_session("load")
    writer = Writer(store, batch_size=64)

    def produce(n: int) -> None:
        for i in range(n):
            writer.submit(session, Analysis(Observation(ts=float(i), host=f"h{i % 7}.example.com"), None))

    threads = [threading.Thread(target=produce, args=(300,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()
    assert _count(store) == 1200
    stats = writer.close()
    assert stats.stored == stats.queued == 1200 and stats.failed == 0 and stats.batches >= 1200 // 64


def test_a_failing_write_is_loud_and_kept(db_url):
    store = Store(db_url)
    real = store.open_session("real")
    ghost = SessionInfo(id=987654, name="ghost", salt=b"x" * 16, keep_raw=False, profile=real.profile, app_id=None)
    writer = Writer(store)
    writer.submit(real, Analysis(Observation(ts=1.0, host="ok.example.com"), None))
    writer.submit(ghost, Analysis(Observation(ts=2.0, host="lost.example.com"), None))
    with pytest.raises(WriterError, match="1 observation"):
        writer.close()
    assert writer.stats.failed == 1 and writer.stats.stored == 1
    assert [a.observation.host for _, a in writer.stats.failed_items] == ["lost.example.com"]
    with store.sessionmaker() as db:
        assert db.scalar(select(func.count()).select_from(EventRow).where(EventRow.level == "error")) >= 1
    with pytest.raises(WriterError):
        writer.submit(real, Analysis(Observation(ts=3.0, host="late.example.com"), None))
