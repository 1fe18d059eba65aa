from __future__ import annotations

from fastapi import APIRouter

from flowaudit.server import queries
from flowaudit.server.deps import DbDep, IndexDep, SessionDep
from flowaudit.server.schemas import SdkSummaryPublic
from flowaudit.server.views import declared_sdk_ids, sdk_public

router = APIRouter(prefix="/api/sessions/{name}/sdks", tags=["sdks"])


@router.get("", response_model=list[SdkSummaryPublic])
def list_sdks(session: SessionDep, db: DbDep, index: IndexDep) -> list[dict]:
    consent_at = queries.consent_ts(db, session.id)
    declared = declared_sdk_ids(db, session, index)
    return [{"sdk": sdk_public(item["sdk_id"], index), "requests": item["requests"], "first_seen": item["first_seen"],
             "seconds_after_consent": None if consent_at is None else item["first_seen"] - consent_at,
             "types": item["types"], "declared": None if declared is None else item["sdk_id"] in declared}
            for item in queries.sdk_summary(db, session.id)]
