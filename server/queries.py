"""Read queries behind the dashboard: every list is paginated by keyset and uses an index."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from flowaudit.db import aggregates
from flowaudit.db.models import EventRow, FindingRow, MarkerRow, ObservationRow, SessionRow

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
    """Newest first by capture time. `before`: the page after the row with this id (older rows); `after`: rows
    stored after this id (live updates), oldest first so a client can append them in order."""
    limit = max(1, min(limit, PAGE_MAX))
    query = _filtered(select(ObservationRow).options(selectinload(ObservationRow.detections)), session_id, flt,
                      consent_ts(db, session_id))
    if after is not None:
        rows = list(db.scalars(query.where(ObservationRow.id > after).order_by(ObservationRow.id).limit(limit)))
        rows.reverse()
        return rows, None
    if before is not None:
        anchor = db.scalar(select(ObservationRow.ts).where(ObservationRow.id == before))
        if anchor is not None:
            query = query.where(or_(ObservationRow.ts < anchor,
                                    and_(ObservationRow.ts == anchor, ObservationRow.id < before)))
    rows = list(db.scalars(query.order_by(ObservationRow.ts.desc(), ObservationRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def observation(db: Session, obs_id: int) -> ObservationRow | None:
    return db.scalar(select(ObservationRow).options(selectinload(ObservationRow.detections))
                     .where(ObservationRow.id == obs_id))


def latest_observation_id(db: Session, session_id: int) -> int:
    return db.scalar(select(func.max(ObservationRow.id)).where(ObservationRow.session_id == session_id)) or 0


def sdk_summary(db: Session, session_id: int) -> list[dict]:
    types: dict[str, dict[str, int]] = {}
    for row in aggregates.read(db, session_id, "sdk_type"):
        sdk_id, _, dtype = row.key.partition(aggregates.SEP)
        types.setdefault(sdk_id, {})[dtype] = row.count
    result = [{"sdk_id": row.key, "requests": row.count, "first_seen": row.first_ts, "types": types.get(row.key, {})}
              for row in aggregates.read(db, session_id, "sdk")]
    return sorted(result, key=lambda r: (-r["requests"], r["sdk_id"]))


def unattributed_hosts(db: Session, session_id: int, limit: int = 100) -> list[dict]:
    rows = sorted(aggregates.read(db, session_id, "host_unattr"), key=lambda r: (-r.count, r.key))[:limit]
    return [{"host": r.key, "requests": r.count, "first_seen": r.first_ts} for r in rows]


def data_type_summary(db: Session, session_id: int) -> list[dict]:
    requests = {r.key: r.count for r in aggregates.read(db, session_id, "type_obs")}
    recipients: dict[str, dict[str, int]] = {}
    for row in aggregates.read(db, session_id, "type_recipient"):
        dtype, _, who = row.key.partition(aggregates.SEP)
        recipients.setdefault(dtype, {})[who] = row.count
    result = [{"type": r.key, "detections": r.count, "requests": requests.get(r.key, 0),
               "recipients": dict(sorted(recipients.get(r.key, {}).items(), key=lambda kv: -kv[1]))}
              for r in aggregates.read(db, session_id, "type")]
    return sorted(result, key=lambda item: (-item["detections"], item["type"]))


def timeline(db: Session, session_id: int, buckets: int = 60) -> dict:
    per_bucket = {int(r.key): r.count for r in aggregates.read(db, session_id, "bucket")}
    per_bucket_data = {int(r.key): r.count for r in aggregates.read(db, session_id, "bucket_data")}
    marks = list(db.scalars(select(MarkerRow).where(MarkerRow.session_id == session_id).order_by(MarkerRow.ts)))
    if not per_bucket:
        return {"start": None, "end": None, "width": 0, "counts": [], "with_data": [], "markers": marks}
    size = aggregates.BUCKET_SECONDS
    start = min([min(per_bucket) * size, *[m.ts for m in marks]])
    end = max([(max(per_bucket) + 1) * size, *[m.ts for m in marks]])
    width = max((end - start) / buckets, size)
    counts = [0] * (buckets + 1)
    with_data = [0] * (buckets + 1)
    for key, value in per_bucket.items():
        counts[min(int((key * size - start) // width), buckets)] += value
    for key, value in per_bucket_data.items():
        with_data[min(int((key * size - start) // width), buckets)] += value
    return {"start": start, "end": end, "width": width, "counts": counts, "with_data": with_data, "markers": marks}


def findings(db: Session, session_id: int) -> list[FindingRow]:
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    rows = list(db.scalars(select(FindingRow).where(FindingRow.session_id == session_id)))
    return sorted(rows, key=lambda f: (order.get(f.severity, 9), f.kind, f.id))


def session_events(db: Session, session_id: int, limit: int = 50) -> list[EventRow]:
    return list(db.scalars(select(EventRow).where(or_(EventRow.session_id == session_id, EventRow.session_id.is_(None)))
                           .order_by(EventRow.ts.desc()).limit(limit)))


def pinned_hosts(db: Session, session_id: int) -> list[str]:
    return sorted(r.key for r in aggregates.read(db, session_id, "pinned"))


def session_row(db: Session, name: str) -> SessionRow | None:
    return db.scalar(select(SessionRow).where(SessionRow.name == name))
