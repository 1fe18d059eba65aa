"""Server-sent events: new observations of a session as they are stored."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from flowaudit.server import queries
from flowaudit.server.deps import IndexDep, SessionDep
from flowaudit.server.routers.observations import observation_filter
from flowaudit.server.schemas import ObservationPublic

router = APIRouter(tags=["live"])
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0


@router.get("/api/sessions/{name}/live")
async def live(request: Request, session: SessionDep, index: IndexDep, after: int | None = None,
               sdk: str | None = None, host: str | None = None, data_type: str | None = None,
               party: str | None = None, consent: str | None = None, with_data: bool = False) -> StreamingResponse:
    store = request.app.state.store
    flt = observation_filter(sdk, host, data_type, party, None, None, consent, with_data)
    session_id, session_name = session.id, session.name

    def fetch(cursor: int) -> tuple[list[str], int]:
        with store.sessionmaker() as db:
            if cursor < 0:
                return [], queries.latest_observation_id(db, session_id)
            rows, _ = queries.observation_page(db, session_id, flt, after=cursor, limit=200)
            events = [json.dumps(ObservationPublic.of(r, session_name, index).model_dump(), ensure_ascii=False)
                      for r in reversed(rows)]
            return events, max([cursor, *[r.id for r in rows]])

    async def stream():  # type: ignore[no-untyped-def]
        cursor = after if after is not None else -1
        if cursor < 0:
            _, cursor = await asyncio.to_thread(fetch, -1)
        yield "retry: 1000\n\n"
        idle = 0.0
        while not await request.is_disconnected():
            events, cursor = await asyncio.to_thread(fetch, cursor)
            for event in events:
                yield f"event: observation\ndata: {event}\n\n"
            if events:
                idle = 0.0
                continue
            idle += POLL_SECONDS
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
