"""Shapes the stored data for pages and API responses. No rules live here: findings come from compare."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from flowaudit.core import taxonomy
from flowaudit.core.declarations import Declaration, DeclarationError, load_declaration, resolve_sdk_ids
from flowaudit.core.signatures import SignatureIndex
from flowaudit.db.models import DeclarationRow, SessionRow
from flowaudit.server import queries


def sdk_public(sdk_id: str, index: SignatureIndex) -> dict:
    sig = index.get(sdk_id)
    if sig is None:
        return {"id": sdk_id, "name": sdk_id}
    return {"id": sig.id, "name": sig.name, "name_zh": sig.name_zh, "vendor": sig.vendor.name,
            "vendor_zh": sig.vendor.name_zh, "category": str(sig.category)}


def type_names(type_id: str) -> dict:
    try:
        info = taxonomy.get(type_id)
    except KeyError:
        return {"name_en": type_id, "name_zh": type_id}
    return {"name_en": info.name_en, "name_zh": info.name_zh}


def latest_declaration(db: Session, session: SessionRow) -> Declaration | None:
    conditions = [DeclarationRow.session_id == session.id]
    if session.app_id:
        conditions.append(DeclarationRow.app_id == session.app_id)
    row = db.scalar(select(DeclarationRow).where(or_(*conditions))
                    .order_by(DeclarationRow.created_at.desc(), DeclarationRow.id.desc()).limit(1))
    if row is None:
        return None
    try:
        return load_declaration(row.content)
    except DeclarationError:
        return None


def declared_types_by_sdk(declaration: Declaration, index: SignatureIndex) -> dict[str, set[str]]:
    matches = resolve_sdk_ids(declaration, index.signatures.values())
    result: dict[str, set[str]] = {}
    for position, match in matches.items():
        for sdk_id in match.sdk_ids:
            result.setdefault(sdk_id, set()).update(declaration.sdk_list[position].resolved_types())
    return result


def declared_sdk_ids(db: Session, session: SessionRow, index: SignatureIndex) -> set[str] | None:
    declaration = latest_declaration(db, session)
    return None if declaration is None else set(declared_types_by_sdk(declaration, index))


def matrix(db: Session, session: SessionRow, index: SignatureIndex) -> dict:
    """SDKs x data types; each cell declared, observed or both."""
    observed = {item["sdk_id"]: set(item["types"]) for item in queries.sdk_summary(db, session.id)}
    declaration = latest_declaration(db, session)
    declared = declared_types_by_sdk(declaration, index) if declaration else {}
    sdks = sorted(set(observed) | set(declared))
    types = sorted({t for v in observed.values() for t in v} | {t for v in declared.values() for t in v},
                   key=lambda t: taxonomy.TYPE_IDS.index(t) if t in taxonomy.TYPE_IDS else 999)
    rows = []
    for sdk_id in sdks:
        cells = []
        for t in types:
            d, o = t in declared.get(sdk_id, set()), t in observed.get(sdk_id, set())
            cells.append("both" if d and o else "declared" if d else "observed" if o else "")
        rows.append({"sdk": sdk_public(sdk_id, index), "declared": sdk_id in declared,
                     "observed": sdk_id in observed, "cells": cells})
    return {"types": [{"id": t, **type_names(t)} for t in types], "rows": rows, "has_declaration": declaration is not None}



def refresh_findings(store, session_name: str, index: SignatureIndex) -> int:  # type: ignore[no-untyped-def]
    """Re-run the comparison for a session and store its findings; returns how many there are."""
    from flowaudit.compliance import run_comparison

    return len(run_comparison(store, session_name, index).findings)


def render_report(store, session_name: str, index: SignatureIndex, fmt: str, lang: str) -> tuple[bytes, str]:  # type: ignore[no-untyped-def]
    from flowaudit.compliance import render_report as render
    from flowaudit.compliance import run_comparison

    return render(run_comparison(store, session_name, index, lang=lang), fmt)
