from sqlalchemy import func, select

from flowaudit.db import aggregates
from flowaudit.db.models import DetectionRow, ObservationRow
from flowaudit.db.seed import seed_session
from flowaudit.db.store import Store


def _snapshot(store: Store, session_id: int) -> dict:
    with store.sessionmaker() as db:
        return {(r.dimension, r.key): (r.count, round(r.first_ts, 3)) for dim in
                ("sdk", "sdk_type", "type", "type_obs", "type_recipient", "host_unattr", "bucket", "bucket_data")
                for r in aggregates.read(db, session_id, dim)}


def test_incremental_counts_equal_a_rebuild_and_the_raw_rows(db_url):
    store = Store(db_url)
    session = seed_session(store, "agg", 450, batch=100)
    incremental = _snapshot(store, session.id)
    with store.sessionmaker() as db:
        aggregates.rebuild(db, session.id, batch=64)
    assert _snapshot(store, session.id) == incremental
    with store.sessionmaker() as db:
        total = db.scalar(select(func.count()).select_from(ObservationRow).where(ObservationRow.session_id == session.id))
        detections = db.scalar(select(func.count()).select_from(DetectionRow).where(DetectionRow.session_id == session.id))
        umeng = db.scalar(select(func.count()).select_from(ObservationRow).where(ObservationRow.sdk_id == "umeng-analytics"))
    assert sum(c for (dim, _), (c, _) in incremental.items() if dim == "bucket") == total == 450
    assert sum(c for (dim, _), (c, _) in incremental.items() if dim == "type") == detections
    assert incremental[("sdk", "umeng-analytics")][0] == umeng


def test_deleting_a_session_removes_its_counts(db_url):
    store = Store(db_url)
    session = seed_session(store, "gone", 50)
    store.delete_session("gone")
    assert _snapshot(store, session.id) == {}


def test_pinned_hosts_are_counted(db_url):
    from flowaudit.core.model import Observation, ObservationKind
    from flowaudit.core.pipeline import Analysis

    store = Store(db_url)
    session = store.open_session("pins")
    store.write_analyses(session, [
        Analysis(Observation(ts=1.0, host="pinned.example.com", kind=ObservationKind.TLS_SNI,
                             error="client refused certificate (pinning?)"), None),
        Analysis(Observation(ts=2.0, host="plain-sni.example.com", kind=ObservationKind.TLS_SNI), None),
        Analysis(Observation(ts=3.0, host="broken.example.com", kind=ObservationKind.TLS_SNI,
                             error="TLS handshake failed: unexpected eof"), None)])
    with store.sessionmaker() as db:
        assert [r.key for r in aggregates.read(db, session.id, "pinned")] == ["pinned.example.com"]


def test_the_proxy_pinning_error_is_what_counts_as_pinned():
    from flowaudit.readers.mitmflow import PINNING_ERROR

    assert aggregates.is_pinned("tls_sni", PINNING_ERROR)
    assert not aggregates.is_pinned("tls_sni", "TLS handshake failed") and not aggregates.is_pinned("request", PINNING_ERROR)
