from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from flowaudit.core.model import Attribution, Detection, Observation
from flowaudit.core.pipeline import Analysis
from flowaudit.core.profile import DeviceProfile
from flowaudit.core.redact import preview, value_hash
from flowaudit.db.engine import StorageError
from flowaudit.db.models import DetectionRow, ObservationRow
from flowaudit.db.store import Store

IMEI = "867530012345672"


def _analysis(body: bytes, *, query: str = "", raw: str = IMEI) -> Analysis:
    obs = Observation(ts=1000.0, host="ULOGS.umeng.com.", method="POST", scheme="https", path="/unify_logs",
                      query=query, headers=[("X-Imei", raw)], body=body, tls=True)
    detection = Detection(type="imei", location="body", key="imei", encoding="body>json", confidence=0.99,
                          reason="validator:luhn+key:imei", preview=preview(raw), value_hash=value_hash(raw, b"s"),
                          raw_value=raw)
    attribution = Attribution("umeng-analytics", "Umeng", "友盟", "Umeng", "analytics", "domain umeng.com", 1)
    return Analysis(obs, attribution, [detection])


def test_sessions_are_created_once_and_updated(db_url):
    store = Store(db_url)
    first = store.open_session("phone", app_id="com.example.app", device_profile=DeviceProfile({"imei": [IMEI]}))
    again = store.open_session("phone", device="Pixel 8", first_party=["example.com"])
    assert first.id == again.id and first.salt == again.salt and len(first.salt) == 16
    assert again.profile.values == {"imei": [IMEI]} and again.first_party == ("example.com",)
    with pytest.raises(StorageError):
        store.open_session("absent", create=False)
    other = store.open_session("tablet")
    assert other.salt != first.salt


def test_values_are_redacted_unless_the_session_keeps_raw_evidence(db_url):
    store = Store(db_url)
    redacted = store.open_session("redacted")
    raw = store.open_session("raw", keep_raw=True)
    body = json.dumps({"imei": IMEI}).encode()
    [rid] = store.write_analyses(redacted, [_analysis(body, query=f"imei={IMEI}")])
    [kid] = store.write_analyses(raw, [_analysis(body, query=f"imei={IMEI}")])
    with store.sessionmaker() as db:
        row = db.get(ObservationRow, rid)
        assert IMEI not in row.body.decode() and preview(IMEI) in row.body.decode()
        assert IMEI not in row.query and IMEI not in json.dumps(row.headers)
        assert row.body_stored == "redacted" and row.host == "ulogs.umeng.com"
        assert row.sdk_id == "umeng-analytics" and row.data_types == ",imei,"
        det = db.scalars(select(DetectionRow).where(DetectionRow.observation_id == rid)).one()
        assert det.raw_value is None and det.preview == preview(IMEI)
        kept = db.get(ObservationRow, kid)
        assert IMEI in kept.body.decode() and kept.body_stored == "full"
        assert db.scalars(select(DetectionRow).where(DetectionRow.observation_id == kid)).one().raw_value == IMEI


def test_binary_bodies_are_withheld_by_default_and_capped_when_kept(db_url):
    store = Store(db_url, body_cap=100)
    redacted = store.open_session("r")
    raw = store.open_session("k", keep_raw=True)
    blob = bytes(range(256)) * 4
    [a] = store.write_analyses(redacted, [_analysis(blob)])
    [b] = store.write_analyses(raw, [_analysis(blob)])
    with store.sessionmaker() as db:
        withheld, kept = db.get(ObservationRow, a), db.get(ObservationRow, b)
        assert withheld.body is None and withheld.body_stored == "withheld" and withheld.body_size == 1024
        assert withheld.body_sha256 and len(withheld.body_sha256) == 64
        assert kept.body == blob[:100] and kept.body_stored == "truncated"


def test_delete_session_removes_everything_of_it_only(db_url):
    store = Store(db_url)
    a, b = store.open_session("a"), store.open_session("b")
    store.write_analyses(a, [_analysis(b"{}")])
    store.write_analyses(b, [_analysis(b"{}")])
    store.add_marker("a", "consent")
    assert store.delete_session("a") and not store.delete_session("a")
    with store.sessionmaker() as db:
        assert {r.session_id for r in db.scalars(select(ObservationRow))} == {b.id}
        assert {r.session_id for r in db.scalars(select(DetectionRow))} == {b.id}


def test_retention_removes_old_bodies_and_raw_values_only(db_url):
    store = Store(db_url)
    raw = store.open_session("raw", keep_raw=True)
    old = _analysis(json.dumps({"imei": IMEI}).encode(), query=f"imei={IMEI}")
    new = _analysis(b'{"fresh": true}')
    new.observation.ts = 5000.0
    [old_id, new_id] = store.write_analyses(raw, [old, new])
    assert store.apply_retention(cutoff_ts=2000.0) == 1
    with store.sessionmaker() as db:
        gone, kept = db.get(ObservationRow, old_id), db.get(ObservationRow, new_id)
        assert gone.body is None and gone.body_stored == "expired" and IMEI not in gone.query
        assert IMEI not in json.dumps(gone.headers)
        assert all(d.raw_value is None for d in gone.detections) and gone.detections[0].preview == preview(IMEI)
        assert kept.body == b'{"fresh": true}'
    assert store.apply_retention(cutoff_ts=2000.0) == 0


def test_concurrent_writers_keep_detections_on_their_own_observations(db_url):
    import threading

    stores = [Store(db_url), Store(db_url)]
    sessions = [stores[0].open_session("w0"), stores[1].open_session("w1")]

    def write(n: int) -> None:
        for batch in range(15):
            analyses = []
            for i in range(40):
                a = _analysis(b"{}", raw=f"{n}{batch:03d}{i:03d}000000000"[:15])
                a.observation.host = f"writer{n}.example.com"
                analyses.append(a)
            stores[n].write_analyses(sessions[n], analyses)

    threads = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with stores[0].sessionmaker() as db:
        rows = db.execute(select(ObservationRow.host, DetectionRow.session_id, ObservationRow.session_id)
                          .join(DetectionRow, DetectionRow.observation_id == ObservationRow.id)).all()
    assert len(rows) == 2 * 15 * 40
    for host, det_session, obs_session in rows:
        assert det_session == obs_session
        assert host == f"writer{[s.id for s in sessions].index(obs_session)}.example.com"
