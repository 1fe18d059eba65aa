from flowaudit.core.model import Observation
from flowaudit.core.pipeline import Analysis
from flowaudit.db.queries import iter_observations, markers, session_by_name, session_summaries
from flowaudit.db.store import Store


def test_iteration_is_complete_and_ordered_across_batches_with_equal_timestamps(db_url):
    store = Store(db_url)
    session = store.open_session("s")
    other = store.open_session("other")
    store.write_analyses(session, [Analysis(Observation(ts=float(i // 3), host=f"h{i}.example.com"), None)
                                   for i in range(25)][::-1])
    store.write_analyses(other, [Analysis(Observation(ts=0.5, host="x.example.com"), None)])
    with store.sessionmaker() as db:
        row = session_by_name(db, "s")
        seen = [(r.ts, r.id) for r in iter_observations(db, row.id, batch=4)]
        assert len(seen) == 25 and seen == sorted(seen)
        assert len(list(iter_observations(db, batch=7))) == 26


def test_summaries_and_markers(db_url):
    store = Store(db_url)
    session = store.open_session("s", app_id="com.example")
    store.write_analyses(session, [Analysis(Observation(ts=1.0, host="a.example.com"), None)])
    store.add_marker("s", "refusal", "said no", ts=5.0)
    store.add_marker("s", "consent", ts=2.0)
    with store.sessionmaker() as db:
        [summary] = session_summaries(db)
        assert summary["observations"] == 1 and summary["app_id"] == "com.example"
        assert [m.kind for m in markers(db, session.id)] == ["consent", "refusal"]
