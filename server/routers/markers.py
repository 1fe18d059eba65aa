from __future__ import annotations

from fastapi import APIRouter, HTTPException

from flowaudit.core.markers import MarkerError, normalise_kind
from flowaudit.db.queries import markers
from flowaudit.server.deps import DbDep, SessionDep, StoreDep
from flowaudit.server.schemas import MarkerCreate, MarkerPublic

router = APIRouter(prefix="/api/sessions/{name}/markers", tags=["markers"])


@router.get("", response_model=list[MarkerPublic])
def list_markers(session: SessionDep, db: DbDep) -> list:
    return markers(db, session.id)


@router.post("", response_model=MarkerPublic, status_code=201)
def add_marker(body: MarkerCreate, session: SessionDep, store: StoreDep) -> dict:
    try:
        kind = normalise_kind(body.kind)
    except MarkerError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    marker = store.add_marker(session.name, kind, body.label, body.ts)
    return {"id": marker.id, "ts": marker.ts, "kind": marker.kind, "label": marker.label}
