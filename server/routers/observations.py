from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from flowaudit.db.models import SessionRow
from flowaudit.server import queries
from flowaudit.server.deps import DbDep, IndexDep, SessionDep
from flowaudit.server.schemas import ObservationPage, ObservationPublic

router = APIRouter(tags=["observations"])


def observation_filter(sdk: str | None = None, host: str | None = None, data_type: str | None = None,
                       party: str | None = None, since: float | None = None, until: float | None = None,
                       consent: str | None = None, with_data: bool = False) -> queries.ObservationFilter:
    return queries.ObservationFilter(sdk or None, host or None, data_type or None, party or None, since, until,
                                     consent or None, with_data)


@router.get("/api/sessions/{name}/observations", response_model=ObservationPage)
def list_observations(session: SessionDep, db: DbDep, index: IndexDep, sdk: str | None = None, host: str | None = None, data_type: str | None = None,
                      party: str | None = None, since: float | None = None, until: float | None = None,
                      consent: str | None = None, with_data: bool = False, before: int | None = None,
                      after: int | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> ObservationPage:
    flt = observation_filter(sdk, host, data_type, party, since, until, consent, with_data)
    rows, next_before = queries.observation_page(db, session.id, flt, before=before, after=after, limit=limit)
    return ObservationPage(items=[ObservationPublic.of(r, session.name, index) for r in rows], next_before=next_before)


@router.get("/api/observations/{obs_id}", response_model=ObservationPublic)
def get_observation(obs_id: int, db: DbDep, index: IndexDep) -> ObservationPublic:
    row = queries.observation(db, obs_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such observation")
    session = db.get(SessionRow, row.session_id)
    return ObservationPublic.of(row, session.name if session else "", index)
