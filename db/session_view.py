"""Between storage and the comparison: a stored session as a pure SessionView, findings and declarations
in and out of their tables."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import defer, selectinload

from flowaudit.core.compare import SessionView
from flowaudit.core.declarations import Declaration, DeclarationError, load_declaration
from flowaudit.core.model import (
    Attribution,
    Detection,
    Finding,
    Marker,
    Observation,
    ObservationKind,
    Severity,
    Source,
)
from flowaudit.core.pipeline import Analysis
from flowaudit.db.engine import StorageError
from flowaudit.db.models import DeclarationRow, FindingRow, ObservationRow, SessionRow
from flowaudit.db.queries import markers, session_by_name
from flowaudit.db.store import Store

FIRST_PARTY_ID = "first-party"


def _attribution(row: ObservationRow, index: object | None) -> Attribution | None:
    if row.first_party:
        return Attribution(sdk_id=FIRST_PARTY_ID, name="First party", name_zh="第一方", vendor=row.host,
                           category="first_party", rule=row.sdk_rule or "first party", first_party=True)
    if not row.sdk_id:
        return None
    sig = index.get(row.sdk_id) if index is not None and hasattr(index, "get") else None
    if sig is not None:
        return Attribution(sdk_id=sig.id, name=sig.name, name_zh=sig.name_zh,
                           vendor=sig.vendor.name_zh or sig.vendor.name, category=str(sig.category),
                           rule=row.sdk_rule or "", ties=tuple(row.sdk_ties or ()))
    return Attribution(sdk_id=row.sdk_id, name=row.sdk_id, name_zh=None, vendor="", category="other",
                       rule=row.sdk_rule or "", ties=tuple(row.sdk_ties or ()))


def _enum(enum: type, value: str, default: object) -> object:
    try:
        return enum(value)
    except ValueError:
        return default


def _analysis(row: ObservationRow, index: object | None) -> Analysis:
    obs = Observation(
        ts=row.ts, host=row.host, source=_enum(Source, row.source, Source.HAR),  # type: ignore[arg-type]
        kind=_enum(ObservationKind, row.kind, ObservationKind.REQUEST),  # type: ignore[arg-type]
        method=row.method, scheme=row.scheme, port=row.port, path=row.path or "", query=row.query or "",
        http_version=row.http_version, headers=[(str(k), str(v)) for k, v in (row.headers or [])],
        body_size=row.body_size, tls=row.tls, status=row.status,
        response_headers=[(str(k), str(v)) for k, v in (row.response_headers or [])],
        response_head=row.response_head or b"", response_size=row.response_size, client_ip=row.client_ip,
        server_ip=row.server_ip, error=row.error, id=row.id)
    detections = [Detection(type=d.type, location=d.location, key=d.key, encoding=d.encoding,
                            confidence=d.confidence, reason=d.reason, preview=d.preview, value_hash=d.value_hash)
                  for d in row.detections]
    return Analysis(obs, _attribution(row, index), detections, bool(row.opaque), list(row.notes or []))


def _session(db, name: str) -> SessionRow:  # type: ignore[no-untyped-def]
    row = session_by_name(db, name)
    if row is None:
        raise StorageError(f"no such session: {name}")
    return row


def _observations(db, session_id: int, batch: int = 2000):  # type: ignore[no-untyped-def]
    """The session's observations in time order, without their bodies (findings never need them; a
    session of many large bodies would not fit in memory), in keyset-paginated batches."""
    last_ts, last_id = float("-inf"), 0
    while True:
        rows = db.scalars(
            select(ObservationRow).options(defer(ObservationRow.body), selectinload(ObservationRow.detections))
            .where(ObservationRow.session_id == session_id)
            .where((ObservationRow.ts > last_ts) | ((ObservationRow.ts == last_ts) & (ObservationRow.id > last_id)))
            .order_by(ObservationRow.ts, ObservationRow.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_ts, last_id = rows[-1].ts, rows[-1].id
        db.expunge_all()


def load_session_view(store: Store, name: str, index: object | None = None) -> SessionView:
    """The stored session ``name`` with every observation, its attribution and detections, and markers."""
    with store.sessionmaker() as db:
        session = _session(db, name)
        view = SessionView(name=session.name, app_id=session.app_id,
                           first_party_domains=list(getattr(session, "first_party", None) or []),
                           device_profile_types=sorted((session.device_profile or {}).keys()))
        view.markers = [Marker(ts=m.ts, kind=m.kind, label=m.label, session=name, id=m.id)
                        for m in markers(db, session.id)]
        sources: list[str] = []
        for row in _observations(db, session.id):
            analysis = _analysis(row, index)
            view.analyses.append(analysis)
            if row.source not in sources:
                sources.append(row.source)
        view.sources = sources
    return view


def save_findings(store: Store, session_name: str, findings: list[Finding]) -> int:
    """Replace the session's findings with ``findings``; returns how many were stored."""
    with store.sessionmaker() as db:
        session = _session(db, session_name)
        db.execute(delete(FindingRow).where(FindingRow.session_id == session.id))
        db.add_all([FindingRow(session_id=session.id, kind=f.kind, severity=str(f.severity), legal_basis=f.legal_basis,
                               title_en=f.title_en, title_zh=f.title_zh, explanation_en=f.explanation_en,
                               explanation_zh=f.explanation_zh, sdk_id=f.sdk_id, data_type=f.data_type,
                               host=(f.host or None) and f.host[:300], evidence=list(f.evidence),
                               details=_jsonable(f.details)) for f in findings])
        db.commit()
    return len(findings)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def load_findings(store: Store, session_name: str) -> list[Finding]:
    with store.sessionmaker() as db:
        session = _session(db, session_name)
        rows = db.scalars(select(FindingRow).where(FindingRow.session_id == session.id).order_by(FindingRow.id))
        return [Finding(kind=r.kind, severity=_enum(Severity, r.severity, Severity.INFO),  # type: ignore[arg-type]
                        legal_basis=r.legal_basis, title_en=r.title_en, title_zh=r.title_zh,
                        explanation_en=r.explanation_en, explanation_zh=r.explanation_zh, sdk_id=r.sdk_id,
                        data_type=r.data_type, host=r.host, evidence=list(r.evidence or []),
                        details=dict(r.details or {})) for r in rows]


def store_declaration(store: Store, declaration: Declaration, *, session_name: str | None = None,
                      app_id: str | None = None, name: str = "") -> int:
    """Keep a declaration for a session (or for every session of an app); returns its row id."""
    if not session_name and not app_id:
        raise ValueError("a declaration is stored for a session or for an app id")
    with store.sessionmaker() as db:
        session_id = _session(db, session_name).id if session_name else None
        row = DeclarationRow(session_id=session_id, app_id=app_id or declaration.app.package,
                             name=(name or declaration.app.name)[:300],
                             content=declaration.model_dump(mode="json", exclude_none=True))
        db.add(row)
        db.commit()
        return row.id


def load_stored_declaration(store: Store, session_name: str) -> Declaration | None:
    """The newest declaration stored for the session, else the newest for the session's app id."""
    with store.sessionmaker() as db:
        session = _session(db, session_name)
        row = db.scalar(select(DeclarationRow).where(DeclarationRow.session_id == session.id)
                        .order_by(DeclarationRow.id.desc()).limit(1))
        if row is None and session.app_id:
            row = db.scalar(select(DeclarationRow).where(DeclarationRow.session_id.is_(None),
                                                         DeclarationRow.app_id == session.app_id)
                            .order_by(DeclarationRow.id.desc()).limit(1))
        if row is None:
            return None
        try:
            return load_declaration(row.content)
        except DeclarationError as exc:
            raise StorageError(f"stored declaration {row.id} is no longer valid: {exc}") from None
