"""Dependencies shared by the routers, as Annotated aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from flowaudit.core.signatures import SignatureIndex
from flowaudit.db.models import SessionRow
from flowaudit.db.store import Store
from flowaudit.server import queries
from flowaudit.server.i18n import pick_language


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.store.sessionmaker() as db:
        yield db


def get_index(request: Request) -> SignatureIndex:
    return request.app.state.index


StoreDep = Annotated[Store, Depends(get_store)]
DbDep = Annotated[Session, Depends(get_db)]
IndexDep = Annotated[SignatureIndex, Depends(get_index)]
LangDep = Annotated[str, Depends(pick_language)]


def get_session_row(name: str, db: DbDep) -> SessionRow:
    row = queries.session_row(db, name)
    if row is None:
        raise HTTPException(status_code=404, detail="no such session")
    return row


SessionDep = Annotated[SessionRow, Depends(get_session_row)]
