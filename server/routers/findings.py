from __future__ import annotations

from fastapi import APIRouter

from flowaudit.server import queries, views
from flowaudit.server.deps import DbDep, IndexDep, SessionDep, StoreDep
from flowaudit.server.schemas import FindingPublic

router = APIRouter(prefix="/api/sessions/{name}/findings", tags=["findings"])


@router.get("", response_model=list[FindingPublic])
def list_findings(session: SessionDep, db: DbDep) -> list:
    return queries.findings(db, session.id)


@router.post("/refresh", response_model=list[FindingPublic])
def refresh_findings(session: SessionDep, store: StoreDep, index: IndexDep, db: DbDep) -> list:
    views.refresh_findings(store, session.name, index)
    db.expire_all()
    return queries.findings(db, session.id)
