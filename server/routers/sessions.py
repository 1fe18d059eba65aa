from __future__ import annotations

from fastapi import APIRouter, HTTPException

from flowaudit.db.queries import session_summaries
from flowaudit.server.deps import DbDep, SessionDep, StoreDep
from flowaudit.server.schemas import SessionCreate, SessionPublic

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


@router.get("", response_model=list[SessionPublic])
def list_sessions(db: DbDep) -> list[dict]:
    return session_summaries(db)


@router.post("", response_model=SessionPublic, status_code=201)
def create_session(body: SessionCreate, store: StoreDep, db: DbDep) -> dict:
    if any(s["name"] == body.name for s in session_summaries(db)):
        raise HTTPException(status_code=409, detail="a session with this name exists")
    store.open_session(body.name, app_id=body.app_id, device=body.device, description=body.description,
                       keep_raw=body.keep_raw)
    db.expire_all()
    return next(s for s in session_summaries(db) if s["name"] == body.name)


@router.get("/{name}", response_model=SessionPublic)
def get_session(session: SessionDep, db: DbDep) -> dict:
    return next(s for s in session_summaries(db) if s["id"] == session.id)
