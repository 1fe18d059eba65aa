"""The dashboard application: `create_app(db_url)` serves the pages, the JSON API and the static assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from flowaudit import __version__
from flowaudit.db.store import Store
from flowaudit.server.routers import (
    data_types,
    declarations,
    findings,
    live,
    markers,
    observations,
    pages,
    reports,
    sdks,
    sessions,
)
from flowaudit.server.security import SecurityMiddleware
from flowaudit.signature_db import default_index


def create_app(db_url: str | None = None, *, token_hash: str | None = None, store: Store | None = None) -> FastAPI:
    """`token_hash` set: every request needs the access token (required when not bound to loopback)."""
    app = FastAPI(title="flowaudit", version=__version__, docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="What a mobile app really sends, which SDK sends it, and where that departs from "
                              "its published SDK and personal-information lists.")
    app.state.store = store or Store(db_url)
    app.state.index = default_index()
    app.add_middleware(SecurityMiddleware, token_hash=token_hash)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")
    for module in (sessions, markers, observations, sdks, data_types, findings, live, reports, declarations, pages):
        app.include_router(module.router)
    return app
