"""Read queries shared by the CLI, exports and reports. Readers open their own connections."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from flowaudit.db.models import AggregateRow, EventRow, MarkerRow, ObservationRow, SessionRow


def session_by_name(db: Session, name: str) -> SessionRow | None:
    return db.scalar(select(SessionRow).where(SessionRow.name == name))


def session_summaries(db: Session) -> list[dict]:
    totals: dict[tuple[int, str], int] = {}
    for session_id, dimension, total, keys in db.execute(
            select(AggregateRow.session_id, AggregateRow.dimension, func.sum(AggregateRow.count), func.count())
            .where(AggregateRow.dimension.in_(("bucket", "type", "sdk"))).group_by(AggregateRow.session_id,
                                                                                  AggregateRow.dimension)):
        totals[(session_id, dimension)] = keys if dimension == "sdk" else int(total or 0)
    rows = db.scalars(select(SessionRow).order_by(SessionRow.created_at, SessionRow.id)).all()
    return [{"id": r.id, "name": r.name, "app_id": r.app_id, "device": r.device, "created_at": r.created_at,
             "observations": totals.get((r.id, "bucket"), 0), "detections": totals.get((r.id, "type"), 0),
             "sdks": totals.get((r.id, "sdk"), 0), "keep_raw": r.keep_raw} for r in rows]


def iter_observations(db: Session, session_id: int | None = None, *, batch: int = 1000) -> Iterator[ObservationRow]:
    """Observations with their detections, in time order, fetched in keyset-paginated batches."""
    last_ts, last_id = float("-inf"), 0
    while True:
        query = (select(ObservationRow).options(selectinload(ObservationRow.detections))
                 .where((ObservationRow.ts > last_ts) | ((ObservationRow.ts == last_ts) & (ObservationRow.id > last_id)))
                 .order_by(ObservationRow.ts, ObservationRow.id).limit(batch))
        if session_id is not None:
            query = query.where(ObservationRow.session_id == session_id)
        rows = db.scalars(query).all()
        if not rows:
            return
        yield from rows
        last_ts, last_id = rows[-1].ts, rows[-1].id
        db.expunge_all()


def markers(db: Session, session_id: int) -> list[MarkerRow]:
    return list(db.scalars(select(MarkerRow).where(MarkerRow.session_id == session_id).order_by(MarkerRow.ts)))


def events(db: Session, session_id: int | None = None, level: str | None = None) -> list[EventRow]:
    query = select(EventRow).order_by(EventRow.ts)
    if session_id is not None:
        query = query.where(EventRow.session_id == session_id)
    if level:
        query = query.where(EventRow.level == level)
    return list(db.scalars(query))
