"""Server-rendered pages. They call the same queries and views as the JSON API."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from flowaudit.db.models import SessionRow
from flowaudit.db.queries import markers, session_summaries
from flowaudit.export import FORMATS as EXPORT_FORMATS
from flowaudit.server import queries, views
from flowaudit.server.deps import DbDep, IndexDep, LangDep, SessionDep
from flowaudit.server.i18n import translator
from flowaudit.server.routers.observations import observation_filter
from flowaudit.server.schemas import ObservationPublic
from flowaudit.server.security import TOKEN_COOKIE

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
templates.env.autoescape = True

REPORT_FORMATS = ("html", "md", "json", "csv", "xlsx", "sarif")


def _fmt_ts(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fmt_dt(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _render(request: Request, name: str, lang: str, **context: object) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {"lang": lang, "t": translator(lang), "fmt_ts": _fmt_ts,
                                                          "fmt_dt": _fmt_dt, "session": None, **context})
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("flowaudit_lang", request.query_params["lang"], samesite="strict")
    return response


@router.get("/", response_class=HTMLResponse)
def sessions_page(request: Request, db: DbDep, lang: LangDep) -> HTMLResponse:
    return _render(request, "sessions.html", lang, sessions=session_summaries(db))


@router.get("/login")
def login(token: str = "") -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    if token:
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/s/{name}")
def session_home(name: str) -> RedirectResponse:
    return RedirectResponse(f"/s/{name}/traffic", status_code=307)


@router.get("/s/{name}/traffic", response_class=HTMLResponse)
def traffic_page(request: Request, session: SessionDep, db: DbDep, index: IndexDep, lang: LangDep,
                 sdk: str | None = None, host: str | None = None, data_type: str | None = None,
                 party: str | None = None, consent: str | None = None, with_data: bool = False,
                 before: int | None = None) -> HTMLResponse:
    flt = observation_filter(sdk, host, data_type, party, None, None, consent, with_data)
    rows, next_before = queries.observation_page(db, session.id, flt, before=before, limit=100)
    sdk_options = [{"id": item["sdk_id"], "label": _sdk_label(views.sdk_public(item["sdk_id"], index), lang)}
                   for item in queries.sdk_summary(db, session.id)]
    type_options = [{"id": t["type"], "label": f"{views.type_names(t['type'])['name_' + lang]} ({t['type']})"}
                    for t in queries.data_type_summary(db, session.id)]
    keep = urlencode([(k, v) for k, v in parse_qsl(str(request.url.query)) if k != "before"])
    return _render(request, "traffic.html", lang, session=session, active="traffic", flt=flt,
                   rows=[ObservationPublic.of(r, session.name, index).model_dump() for r in rows],
                   next_before=next_before, query_without_before=keep, sdk_options=sdk_options,
                   type_options=type_options, consent_at=queries.consent_ts(db, session.id),
                   latest_id=queries.latest_observation_id(db, session.id))


def _sdk_label(sdk: dict, lang: str) -> str:
    return (sdk.get("name_zh") if lang == "zh" and sdk.get("name_zh") else sdk.get("name")) or sdk["id"]


@router.get("/o/{obs_id}", response_class=HTMLResponse)
def observation_page(request: Request, obs_id: int, db: DbDep, index: IndexDep, lang: LangDep) -> HTMLResponse:
    row = queries.observation(db, obs_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such observation")
    session = db.get(SessionRow, row.session_id)
    assert session is not None
    public = ObservationPublic.of(row, session.name, index).model_dump()
    raw_body = row.body.decode("utf-8", "replace") if row.body else ""
    pretty = ""
    if raw_body:
        try:
            pretty = json.dumps(json.loads(raw_body), ensure_ascii=False, indent=2)[:200_000]
        except ValueError:
            pairs = parse_qsl(raw_body, keep_blank_values=True)
            pretty = "\n".join(f"{k} = {v}" for k, v in pairs)[:200_000] if pairs and "=" in raw_body else ""
    detected_keys = {d.key.split(".")[-1] for d in row.detections} | {d.key for d in row.detections}
    curl = ["curl", "-X", row.method or "GET", public["url"]]
    for key, value in row.headers:
        curl += ["-H", f"{key}: {value}"]
    if raw_body:
        curl += ["--data-binary", raw_body[:10_000]]
    return _render(request, "observation.html", lang, session=session, active="traffic", o=public, row=row,
                   consent_at=queries.consent_ts(db, session.id), raw_body=raw_body[:200_000], pretty_body=pretty,
                   query_pairs=parse_qsl(row.query, keep_blank_values=True), detected_keys=detected_keys,
                   curl=shlex.join(curl))


@router.get("/s/{name}/sdks", response_class=HTMLResponse)
def sdks_page(request: Request, session: SessionDep, db: DbDep, index: IndexDep, lang: LangDep) -> HTMLResponse:
    from flowaudit.server.routers.sdks import list_sdks

    declared = views.declared_sdk_ids(db, session, index)
    return _render(request, "sdks.html", lang, session=session, active="sdks", sdks=list_sdks(session, db, index),
                   unattributed=queries.unattributed_hosts(db, session.id), has_declaration=declared is not None)


@router.get("/s/{name}/data-types", response_class=HTMLResponse)
def data_types_page(request: Request, session: SessionDep, db: DbDep, lang: LangDep) -> HTMLResponse:
    types = [{**item, **views.type_names(item["type"])} for item in queries.data_type_summary(db, session.id)]
    return _render(request, "data_types.html", lang, session=session, active="data_types", types=types)


@router.get("/s/{name}/matrix", response_class=HTMLResponse)
def matrix_page(request: Request, session: SessionDep, db: DbDep, index: IndexDep, lang: LangDep) -> HTMLResponse:
    return _render(request, "matrix.html", lang, session=session, active="matrix", m=views.matrix(db, session, index))


@router.get("/s/{name}/findings", response_class=HTMLResponse)
def findings_page(request: Request, session: SessionDep, db: DbDep, lang: LangDep) -> HTMLResponse:
    return _render(request, "findings.html", lang, session=session, active="findings",
                   findings=queries.findings(db, session.id),
                   has_declaration=views.latest_declaration(db, session) is not None)


@router.get("/s/{name}/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, session: SessionDep, db: DbDep, lang: LangDep) -> HTMLResponse:
    data = queries.timeline(db, session.id, buckets=80)
    chart = None
    if data["start"] is not None:
        w, h = 960, 180
        top = max(data["counts"]) or 1
        bar_w = w / len(data["counts"])
        bars = []
        for i, (count, with_data) in enumerate(zip(data["counts"], data["with_data"], strict=True)):
            bh, dh = h * count / top, h * with_data / top
            bars.append({"x": round(i * bar_w, 1), "w": round(max(bar_w - 1, 1), 1), "y": round(h - bh, 1),
                         "h": round(bh, 1), "yd": round(h - dh, 1), "hd": round(dh, 1), "count": count, "data": with_data})
        span = max(data["end"] - data["start"], 1e-6)
        marks = [{"x": round((m.ts - data["start"]) / span * (w - 2) + 1, 1), "kind": m.kind, "label": m.label[:40]}
                 for m in data["markers"]]
        chart = {"w": w, "h": h, "bars": bars, "markers": marks, "start": data["start"], "end": data["end"]}
    return _render(request, "timeline.html", lang, session=session, active="timeline", chart=chart,
                   markers=markers(db, session.id), events=queries.session_events(db, session.id),
                   pinned=queries.pinned_hosts(db, session.id))


@router.get("/s/{name}/reports", response_class=HTMLResponse)
def reports_page(request: Request, session: SessionDep, lang: LangDep) -> HTMLResponse:
    return _render(request, "reports.html", lang, session=session, active="reports", formats=REPORT_FORMATS,
                   exports=EXPORT_FORMATS)

