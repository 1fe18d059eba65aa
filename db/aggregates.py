"""Running per-session counts, updated in the same transaction as the observations they count.

Dimensions: sdk (requests, first seen), sdk_type (detections per SDK and type), type (detections),
type_obs (requests carrying a type), type_recipient (detections per type and recipient), host_unattr
(requests to unattributed third-party hosts), pinned (hosts whose TLS the client refused to let the
proxy intercept), bucket / bucket_data (requests and requests with personal
data per BUCKET_SECONDS of capture time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from flowaudit.db.models import AggregateRow, DetectionRow, ObservationRow

BUCKET_SECONDS = 10
SEP = "\t"


@dataclass(slots=True)
class Counted:
    count: int = 0
    first_ts: float | None = None

    def add(self, ts: float, n: int = 1) -> None:
        self.count += n
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)


@dataclass(slots=True, frozen=True)
class Counting:
    """What the counts need of one stored observation."""

    ts: float
    host: str
    sdk_id: str | None
    first_party: bool
    types: tuple[str, ...]
    pinned: bool = False            # a TLS connection the client refused to let the proxy intercept


def count(items: Iterable[Counting]) -> dict[tuple[str, str], Counted]:
    counts: dict[tuple[str, str], Counted] = {}

    def bump(dimension: str, key: str, ts: float) -> None:
        counts.setdefault((dimension, key[:400]), Counted()).add(ts)

    for item in items:
        ts = item.ts
        recipient = item.sdk_id or ("first-party" if item.first_party else item.host)
        bump("bucket", str(int(ts // BUCKET_SECONDS)), ts)
        if item.types:
            bump("bucket_data", str(int(ts // BUCKET_SECONDS)), ts)
        if item.sdk_id:
            bump("sdk", item.sdk_id, ts)
        elif not item.first_party:
            bump("host_unattr", item.host, ts)
        if item.pinned:
            bump("pinned", item.host, ts)
        for t in set(item.types):
            bump("type_obs", t, ts)
        for t in item.types:
            bump("type", t, ts)
            bump("type_recipient", t + SEP + recipient, ts)
            if item.sdk_id:
                bump("sdk_type", item.sdk_id + SEP + t, ts)
    return counts


PINNING_ERROR_PREFIX = "client refused certificate"   # what the proxy records when a client rejects its certificate


def is_pinned(kind: str, error: str | None) -> bool:
    return kind == "tls_sni" and bool(error) and error.startswith(PINNING_ERROR_PREFIX)


def apply(db: Session, session_id: int, counts: dict[tuple[str, str], Counted]) -> None:
    """Add counts with one upsert per key (SQLite and PostgreSQL both speak ON CONFLICT)."""
    if not counts:
        return
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    values = [{"session_id": session_id, "dimension": dim, "key": key, "count": c.count, "first_ts": c.first_ts}
              for (dim, key), c in counts.items()]
    statement = insert(AggregateRow)
    table = AggregateRow.__table__
    statement = statement.on_conflict_do_update(
        index_elements=["session_id", "dimension", "key"],
        set_={"count": table.c.count + statement.excluded.count,
              "first_ts": _least(dialect, table.c.first_ts, statement.excluded.first_ts)},
    )
    db.execute(statement, values)


def _least(dialect: str, a, b):  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    if dialect == "postgresql":
        return func.least(a, b)
    return func.min(func.coalesce(a, b), func.coalesce(b, a))


def rebuild(db: Session, session_id: int, batch: int = 20_000) -> None:
    """Recount a session from its observations (after bulk loads or repairs)."""
    db.execute(delete(AggregateRow).where(AggregateRow.session_id == session_id))
    last = 0
    while True:
        rows = db.execute(select(ObservationRow.id, ObservationRow.ts, ObservationRow.host, ObservationRow.sdk_id,
                                 ObservationRow.first_party, ObservationRow.kind, ObservationRow.error)
                          .where(ObservationRow.session_id == session_id, ObservationRow.id > last)
                          .order_by(ObservationRow.id).limit(batch)).all()
        if not rows:
            break
        ids = [r.id for r in rows]
        types: dict[int, list[str]] = {}
        for obs_id, dtype in db.execute(select(DetectionRow.observation_id, DetectionRow.type)
                                        .where(DetectionRow.observation_id.in_(ids))):
            types.setdefault(obs_id, []).append(dtype)
        apply(db, session_id, count(Counting(r.ts, r.host, r.sdk_id, r.first_party, tuple(types.get(r.id, ())),
                                             is_pinned(r.kind, r.error)) for r in rows))
        last = ids[-1]
        db.expunge_all()
    db.commit()


def read(db: Session, session_id: int, dimension: str) -> list[AggregateRow]:
    return list(db.scalars(select(AggregateRow).where(AggregateRow.session_id == session_id,
                                                      AggregateRow.dimension == dimension)))
