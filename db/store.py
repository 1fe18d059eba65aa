"""The storage facade: opens the database, migrates it, and turns core results into rows.

Writes go through ``Store.write_analyses`` (called by the one writer, see writer.py); reads go through
queries.py with their own connections.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import selectinload, sessionmaker

from flowaudit.core.model import Marker
from flowaudit.core.pipeline import Analysis
from flowaudit.core.profile import DeviceProfile
from flowaudit.core.redact import mask_text
from flowaudit.db import aggregates
from flowaudit.db.engine import StorageError, make_engine, migrate
from flowaudit.db.models import (
    AggregateRow,
    DeclarationRow,
    DetectionRow,
    EventRow,
    FindingRow,
    MarkerRow,
    ObservationRow,
    SessionRow,
)

DEFAULT_BODY_CAP = 1_000_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
RESPONSE_HEAD_CAP = 512


@dataclass(slots=True, frozen=True)
class SessionInfo:
    id: int
    name: str
    salt: bytes
    keep_raw: bool
    profile: DeviceProfile
    app_id: str | None
    first_party: tuple[str, ...] = ()


def _info(row: SessionRow) -> SessionInfo:
    return SessionInfo(row.id, row.name, bytes.fromhex(row.salt), row.keep_raw,
                       DeviceProfile.from_mapping(row.device_profile), row.app_id, tuple(row.first_party or ()))


class Store:
    def __init__(self, url: str | None = None, *, body_cap: int = DEFAULT_BODY_CAP, migrate_schema: bool = True):
        self.engine = make_engine(url)
        self.body_cap = body_cap
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        try:
            if migrate_schema:
                migrate(self.engine)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open database {self.engine.url.render_as_string(hide_password=True)}: "
                               f"{exc.__class__.__name__}: {str(exc.orig if hasattr(exc, 'orig') else exc)[:200]}") from None
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # sessions and markers -------------------------------------------------------------------------

    def open_session(self, name: str, *, app_id: str | None = None, device: str | None = None,
                     description: str | None = None, device_profile: DeviceProfile | None = None,
                     keep_raw: bool | None = None, first_party: list[str] | None = None,
                     create: bool = True) -> SessionInfo:
        with self.sessionmaker() as db:
            row = db.scalar(select(SessionRow).where(SessionRow.name == name))
            if row is None:
                if not create:
                    raise StorageError(f"no such session: {name}")
                row = SessionRow(name=name, app_id=app_id, device=device, description=description,
                                 device_profile=device_profile.to_mapping() if device_profile else None,
                                 keep_raw=bool(keep_raw), first_party=sorted(set(first_party or [])) or None,
                                 salt=secrets.token_hex(16))
                db.add(row)
                try:
                    db.commit()
                except IntegrityError:
                    db.rollback()
                    row = db.scalars(select(SessionRow).where(SessionRow.name == name)).one()
            else:
                changed = False
                for attr, value in (("app_id", app_id), ("device", device), ("description", description)):
                    if value is not None and getattr(row, attr) != value:
                        setattr(row, attr, value)
                        changed = True
                if device_profile is not None and device_profile.values:
                    row.device_profile = device_profile.to_mapping()
                    changed = True
                if first_party and set(first_party) - set(row.first_party or []):
                    row.first_party = sorted(set(row.first_party or []) | set(first_party))
                    changed = True
                if keep_raw is not None and row.keep_raw != keep_raw:
                    row.keep_raw = keep_raw
                    changed = True
                if changed:
                    db.commit()
            return _info(row)

    def add_marker(self, session_name: str, kind: str, label: str = "", ts: float | None = None) -> Marker:
        info = self.open_session(session_name)
        with self.sessionmaker() as db:
            row = MarkerRow(session_id=info.id, ts=ts if ts is not None else time.time(), kind=kind, label=label)
            db.add(row)
            db.commit()
            return Marker(ts=row.ts, kind=row.kind, label=row.label, session=session_name, id=row.id)

    def record_event(self, session_id: int | None, level: str, source: str, message: str) -> None:
        with self.sessionmaker() as db:
            db.add(EventRow(session_id=session_id, ts=time.time(), level=level, source=source, message=message[:2000]))
            db.commit()

    def delete_session(self, name: str) -> bool:
        """Remove a session and everything captured in it, and scrub the freed pages."""
        with self.sessionmaker() as db:
            row = db.scalar(select(SessionRow).where(SessionRow.name == name))
            if row is None:
                return False
            for table in (DetectionRow, ObservationRow, MarkerRow, EventRow, FindingRow, DeclarationRow, AggregateRow):
                db.execute(delete(table).where(table.session_id == row.id))  # type: ignore[attr-defined]
            db.delete(row)
            db.commit()
        self.compact()
        return True

    def apply_retention(self, cutoff_ts: float, batch: int = 2000) -> int:
        """Remove bodies and raw values captured before `cutoff_ts` (masking them out of URLs and headers
        first); what remains is redacted metadata. Returns how many observations were scrubbed."""
        scrubbed = 0
        last = 0
        while True:
            with self.sessionmaker() as db:
                rows = list(db.scalars(select(ObservationRow).options(selectinload(ObservationRow.detections))
                                       .where(ObservationRow.ts < cutoff_ts, ObservationRow.id > last,
                                              or_(ObservationRow.body.is_not(None),
                                                  ObservationRow.detections.any(DetectionRow.raw_value.is_not(None))))
                                       .order_by(ObservationRow.id).limit(batch)))
                if not rows:
                    break
                for row in rows:
                    raw_values = [d.raw_value for d in row.detections if d.raw_value]
                    if raw_values:
                        row.path, row.query = mask_text(row.path, raw_values), mask_text(row.query, raw_values)
                        row.headers = [[k, mask_text(v, raw_values)] for k, v in row.headers]
                    for detection in row.detections:
                        detection.raw_value = None
                    row.body = None
                    row.body_stored = "expired"
                last = rows[-1].id
                scrubbed += len(rows)
                db.commit()
        if scrubbed:
            self.compact()
        return scrubbed

    def compact(self) -> None:
        if self.is_sqlite:
            with self.engine.connect() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                conn.commit()
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM"))

    # observations ---------------------------------------------------------------------------------

    def write_analyses(self, session: SessionInfo, analyses: Sequence[Analysis]) -> list[int]:
        """Store a batch in one transaction with bulk inserts; returns the new observation ids in order."""
        if not analyses:
            return []
        values = [self._observation_values(session, analysis) for analysis in analyses]
        with self.sessionmaker() as db:
            if self.is_sqlite:
                # SQLite holds the write lock from the first insert to the commit, and gives rows increasing
                # rowids in executemany order: this batch's ids are the newest len(values) ids.
                db.execute(insert(ObservationRow), values)
                ids = sorted(db.scalars(select(ObservationRow.id).order_by(ObservationRow.id.desc()).limit(len(values))))
            else:
                ids = list(db.scalars(insert(ObservationRow).returning(ObservationRow.id, sort_by_parameter_order=True),
                                      values))
            detections = [
                {"observation_id": obs_id, "session_id": session.id, "type": d.type, "location": d.location,
                 "key": d.key[:2000], "encoding": d.encoding, "confidence": d.confidence, "reason": d.reason,
                 "preview": d.preview, "value_hash": d.value_hash, "raw_value": d.raw_value if session.keep_raw else None}
                for obs_id, analysis in zip(ids, analyses, strict=True) for d in analysis.detections]
            if detections:
                db.execute(insert(DetectionRow), detections)
            aggregates.apply(db, session.id, aggregates.count(
                aggregates.Counting(v["ts"], v["host"], v["sdk_id"], v["first_party"],
                                    tuple(d.type for d in analysis.detections), aggregates.is_pinned(v["kind"], v["error"]))
                for v, analysis in zip(values, analyses, strict=True)))
            db.commit()
        for analysis, obs_id in zip(analyses, ids, strict=True):
            analysis.observation.id = obs_id
        return ids

    def _observation_values(self, session: SessionInfo, analysis: Analysis) -> dict:
        obs = analysis.observation
        raw_values = [d.raw_value for d in analysis.detections if d.raw_value]
        keep_raw = session.keep_raw
        path, query, headers = obs.path, obs.query, [list(h) for h in obs.headers]
        body, body_stored = self._stored_body(obs.body, raw_values, keep_raw)
        response_head = obs.response_head[:RESPONSE_HEAD_CAP] or None
        if not keep_raw and raw_values:
            path, query = mask_text(path, raw_values), mask_text(query, raw_values)
            headers = [[k, mask_text(v, raw_values)] for k, v in headers]
            if response_head:
                # servers echo what they were sent; the head is kept for file-type sniffing, not for values
                response_head = _mask_bytes(response_head, raw_values)
        att = analysis.attribution
        return {
            "session_id": session.id, "ts": obs.ts, "source": str(obs.source), "kind": str(obs.kind),
            "method": obs.method, "scheme": obs.scheme, "host": obs.host[:300], "port": obs.port, "path": path,
            "query": query, "http_version": obs.http_version, "headers": headers, "body": body,
            "body_size": obs.body_size or 0, "body_sha256": obs.body_sha256, "body_stored": body_stored, "tls": obs.tls,
            "status": obs.status, "response_headers": [list(h) for h in obs.response_headers],
            "response_head": response_head, "response_size": obs.response_size,
            "client_ip": obs.client_ip, "server_ip": obs.server_ip, "error": obs.error,
            "sdk_id": att.sdk_id if att and not att.first_party else None,
            "sdk_rule": att.rule if att else None, "sdk_ties": list(att.ties) if att and att.ties else None,
            "first_party": bool(att and att.first_party), "opaque": analysis.opaque,
            "data_types": "," + ",".join(sorted({d.type for d in analysis.detections})) + "," if analysis.detections else "",
            "notes": analysis.notes or None,
        }

    def _stored_body(self, body: bytes, raw_values: list[str], keep_raw: bool) -> tuple[bytes | None, str]:
        if not body:
            return None, "none"
        if keep_raw:
            return body[: self.body_cap], "full" if len(body) <= self.body_cap else "truncated"
        decoded = _as_text(body[: self.body_cap])
        if decoded is None:
            return None, "withheld"
        masked = mask_text(decoded, raw_values).encode("utf-8")
        return masked, "redacted" if raw_values else ("full" if len(body) <= self.body_cap else "truncated")



def _as_text(data: bytes) -> str | None:
    """The body as text if it is text; binary bodies cannot be redacted value by value, so they are withheld."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 3:
            return None
        text = data[: exc.start].decode("utf-8")
    return None if len(_CONTROL.findall(text)) > len(text) // 100 else text


def _mask_bytes(data: bytes, values: list[str]) -> bytes:
    for value in sorted({v for v in values if len(v) >= 3}, key=len, reverse=True):
        raw = value.encode("utf-8", "surrogatepass")
        data = data.replace(raw, b"*" * len(raw))
    return data
