from __future__ import annotations

import io

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response, StreamingResponse

from flowaudit.db.queries import iter_observations
from flowaudit.export import WRITERS
from flowaudit.server import views
from flowaudit.server.deps import DbDep, IndexDep, SessionDep, StoreDep

router = APIRouter(prefix="/api/sessions/{name}", tags=["reports"])
MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "har": "application/json"}


@router.get("/export")
def export(session: SessionDep, db: DbDep, index: IndexDep,
           format: str = Query("jsonl", pattern="^(jsonl|csv|har)$")) -> StreamingResponse:
    buffer = io.StringIO()
    WRITERS[format](((r, session.name) for r in iter_observations(db, session.id)), buffer, index)
    filename = f"flowaudit-{session.id}.{format}"
    return StreamingResponse(iter([buffer.getvalue().encode("utf-8")]), media_type=MEDIA[format],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/report")
def report(session: SessionDep, store: StoreDep, index: IndexDep,
           format: str = Query("html", pattern="^(html|md|json|csv|xlsx|sarif)$"),
           lang: str = Query("en", pattern="^(zh|en)$")) -> Response:
    try:
        content, media = views.render_report(store, session.name, index, format, lang)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    filename = f"flowaudit-report-{session.id}.{format}"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
