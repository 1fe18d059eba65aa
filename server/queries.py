"""Read queries behind the dashboard: every list is paginated by keyset and uses an index."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session, selectinload

from flowaudit.db.models import DetectionRow, EventRow, FindingRow, MarkerRow, ObservationRow, SessionRow

PAGE_MAX = 200


@dataclass(slots=True)
class ObservationFilter:
    sdk: str | None = None          # signature id, or "none" for unattributed third parties
    host: str | None = None         # exact host, or ".example.com" for a domain and its subdomains
    data_type: str | None = None
    party: str | None = None        # first, third, unattributed
    since: float | None = None
    until: float | None = None
    consent: str | None = None      # before, after
    with_data: bool = False


def consent_ts(db: Session, session_id: int) -> float | None:
    return db.scalar(select(func.min(MarkerRow.ts)).where(MarkerRow.session_id == session_id,
                                                          MarkerRow.kind == "consent"))


def _filtered(query: Select, session_id: int, flt: ObservationFilter, consent_at: float | None) -> Select:
    query = query.where(ObservationRow.session_id == session_id)
    if flt.sdk == "none":
        query = query.where(ObservationRow.sdk_id.is_(None), ObservationRow.first_party.is_(False))
    elif flt.sdk:
        query = query.where(ObservationRow.sdk_id == flt.sdk)
    if flt.host:
        host = flt.host.strip().lower()
        if host.startswith("."):
            query = query.where(or_(ObservationRow.host == host[1:], ObservationRow.host.like(f"%{host}")))
        else:
            query = query.where(ObservationRow.host == host)
    if flt.data_type:
        query = query.where(ObservationRow.data_types.like(f"%,{flt.data_type},%"))
    if flt.with_data:
        query = query.where(ObservationRow.data_types != "")
    if flt.party == "first":
        query = query.where(ObservationRow.first_party.is_(True))
    elif flt.party == "third":
        query = query.where(ObservationRow.first_party.is_(False))
    elif flt.party == "unattributed":
        query = query.where(ObservationRow.first_party.is_(False), ObservationRow.sdk_id.is_(None))
    if flt.since is not None:
        query = query.where(ObservationRow.ts >= flt.since)
    if flt.until is not None:
        query = query.where(ObservationRow.ts <= flt.until)
    if flt.consent in ("before", "after"):
        if consent_at is None:
            # no consent marker: everything happened before consent
            query = query.where(ObservationRow.id.is_(None)) if flt.consent == "after" else query
        else:
            query = query.where(ObservationRow.ts < consent_at if flt.consent == "before" else ObservationRow.ts >= consent_at)
    return query


def observation_page(db: Session, session_id: int, flt: ObservationFilter, *, before: int | None = None,
                     after: int | None = None, limit: int = 50) -> tuple[list[ObservationRow], int | None]:
    """Newest first. `before`: ids below this one (older page); `after`: ids above it (live updates)."""
    limit = max(1, min(limit, PAGE_MAX))
    query = _filtered(select(ObservationRow).options(selectinload(ObservationRow.detections)), session_id, flt,
                      consent_ts(db, session_id))
    if after is not None:
        rows = list(db.scalars(query.where(ObservationRow.id > after).order_by(ObservationRow.id).limit(limit)))
        rows.reverse()
        return rows, None
    if before is not None:
        query = query.where(ObservationRow.id < before)
    rows = list(db.scalars(query.order_by(ObservationRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def observation(db: Session, obs_id: int) -> ObservationRow | None:
    return db.scalar(select(ObservationRow).options(selectinload(ObservationRow.detections))
                     .where(ObservationRow.id == obs_id))


def latest_observation_id(db: Session, session_id: int) -> int:
    return db.scalar(select(func.max(ObservationRow.id)).where(ObservationRow.session_id == session_id)) or 0


def sdk_summary(db: Session, session_id: int) -> list[dict]:
    rows = db.execute(select(ObservationRow.sdk_id, func.count(), func.min(ObservationRow.ts))
                      .where(ObservationRow.session_id == session_id, ObservationRow.sdk_id.is_not(None))
                      .group_by(ObservationRow.sdk_id)).all()
    types = db.execute(select(ObservationRow.sdk_id, DetectionRow.type, func.count())
                       .join(DetectionRow, DetectionRow.observation_id == ObservationRow.id)
                       .where(DetectionRow.session_id == session_id, ObservationRow.sdk_id.is_not(None))
                       .group_by(ObservationRow.sdk_id, DetectionRow.type)).all()
    by_sdk: dict[str, dict[str, int]] = {}
    for sdk_id, dtype, count in types:
        by_sdk.setdefault(sdk_id, {})[dtype] = count
    result = [{"sdk_id": sdk_id, "requests": count, "first_seen": first, "types": by_sdk.get(sdk_id, {})}
              for sdk_id, count, first in rows]
    return sorted(result, key=lambda r: (-r["requests"], r["sdk_id"]))


def unattributed_hosts(db: Session, session_id: int, limit: int = 100) -> list[dict]:
    rows = db.execute(select(ObservationRow.host, func.count(), func.min(ObservationRow.ts))
                      .where(ObservationRow.session_id == session_id, ObservationRow.sdk_id.is_(None),
                             ObservationRow.first_party.is_(False))
                      .group_by(ObservationRow.host).order_by(func.count().desc()).limit(limit)).all()
    return [{"host": h, "requests": c, "first_seen": f} for h, c, f in rows]


def data_type_summary(db: Session, session_id: int) -> list[dict]:
    rows = db.execute(select(DetectionRow.type, func.count(), func.count(func.distinct(DetectionRow.observation_id)))
                      .where(DetectionRow.session_id == session_id).group_by(DetectionRow.type)).all()
    recipients = db.execute(select(DetectionRow.type, ObservationRow.sdk_id, ObservationRow.host,
                                   ObservationRow.first_party, func.count())
                            .join(ObservationRow, DetectionRow.observation_id == ObservationRow.id)
                            .where(DetectionRow.session_id == session_id)
                            .group_by(DetectionRow.type, ObservationRow.sdk_id, ObservationRow.host,
                                      ObservationRow.first_party)).all()
    by_type: dict[str, dict[str, int]] = {}
    for dtype, sdk_id, host, first, count in recipients:
        label = sdk_id or ("first-party" if first else host)
        bucket = by_type.setdefault(dtype, {})
        bucket[label] = bucket.get(label, 0) + count
    return sorted(({"type": t, "detections": c, "requests": r, "recipients": by_type.get(t, {})} for t, c, r in rows),
                  key=lambda item: -item["detections"])


def timeline(db: Session, session_id: int, buckets: int = 60) -> dict:
    first, last = db.execute(select(func.min(ObservationRow.ts), func.max(ObservationRow.ts))
                             .where(ObservationRow.session_id == session_id)).one()
    marks = list(db.scalars(select(MarkerRow).where(MarkerRow.session_id == session_id).order_by(MarkerRow.ts)))
    if first is None:
        return {"start": None, "end": None, "width": 0, "counts": [], "with_data": [], "markers": marks}
    start = min([first, *[m.ts for m in marks]])
    end = max([last, *[m.ts for m in marks]])
    width = max((end - start) / buckets, 1e-6)
    # constants rendered inline (they are floats computed here) so SELECT and GROUP BY are the same expression
    bucket = func.floor((ObservationRow.ts - literal_column(repr(float(start)))) / literal_column(repr(float(width))))
    counts = [0] * (buckets + 1)
    with_data = [0] * (buckets + 1)
    has_data = func.sum(case((ObservationRow.data_types != "", 1), else_=0))
    rows = db.execute(select(bucket, func.count(), has_data)
                      .where(ObservationRow.session_id == session_id).group_by(bucket)).all()
    for index, count, data in rows:
        i = min(int(index), buckets)
        counts[i] += count
        with_data[i] += int(data or 0)
    return {"start": start, "end": end, "width": width, "counts": counts, "with_data": with_data, "markers": marks}


def findings(db: Session, session_id: int) -> list[FindingRow]:
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    rows = list(db.scalars(select(FindingRow).where(FindingRow.session_id == session_id)))
    return sorted(rows, key=lambda f: (order.get(f.severity, 9), f.kind, f.id))


def session_events(db: Session, session_id: int, limit: int = 50) -> list[EventRow]:
    return list(db.scalars(select(EventRow).where(or_(EventRow.session_id == session_id, EventRow.session_id.is_(None)))
                           .order_by(EventRow.ts.desc()).limit(limit)))


def pinned_hosts(db: Session, session_id: int) -> list[str]:
    return list(db.scalars(select(ObservationRow.host).where(
        and_(ObservationRow.session_id == session_id, ObservationRow.kind == "tls_sni",
             ObservationRow.error.is_not(None))).distinct().limit(200)))


def session_row(db: Session, name: str) -> SessionRow | None:
    return db.scalar(select(SessionRow).where(SessionRow.name == name))
