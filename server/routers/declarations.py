from __future__ import annotations

from fastapi import APIRouter

from flowaudit.core.declarations import declaration_json_schema

router = APIRouter(tags=["declarations"])


@router.get("/api/declaration.schema.json")
def declaration_schema() -> dict:
    """JSON Schema of the declaration format (the app's SDK list and collected-PI list)."""
    return declaration_json_schema()
