from __future__ import annotations

from fastapi import APIRouter

from flowaudit.server import queries
from flowaudit.server.deps import DbDep, SessionDep
from flowaudit.server.schemas import DataTypeSummaryPublic
from flowaudit.server.views import type_names

router = APIRouter(prefix="/api/sessions/{name}/data-types", tags=["data types"])


@router.get("", response_model=list[DataTypeSummaryPublic])
def list_data_types(session: SessionDep, db: DbDep) -> list[dict]:
    return [{**item, **type_names(item["type"])} for item in queries.data_type_summary(db, session.id)]
