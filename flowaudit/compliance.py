"""Running the comparison for a stored session: the one path shared by `flowaudit report` and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowaudit.core.compare import compare
from flowaudit.core.declarations import Declaration
from flowaudit.core.model import Finding
from flowaudit.core.signatures import SignatureIndex
from flowaudit.db.session_view import load_session_view, load_stored_declaration, save_findings
from flowaudit.db.store import Store

MEDIA_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8",
               "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "sarif": "application/sarif+json"}


@dataclass(slots=True)
class Comparison:
    findings: list[Finding]
    report: dict[str, Any]
    declaration: Declaration | None


def run_comparison(store: Store, session_name: str, index: SignatureIndex, *, declaration: Declaration | None = None,
                   declaration_source: str | None = None, lang: str = "zh", save: bool = True) -> Comparison:
    """Compare the session with the given declaration (default: the one stored for it) and store the findings."""
    from flowaudit.reports import build_report

    view = load_session_view(store, session_name, index)
    if declaration is None:
        declaration = load_stored_declaration(store, session_name)
        declaration_source = "stored declaration" if declaration is not None else None
    findings = compare(view, declaration, index)
    if save:
        save_findings(store, session_name, findings)
    report = build_report(view, findings, declaration, index, lang=lang, declaration_source=declaration_source)
    return Comparison(findings, report, declaration)


def render_report(comparison: Comparison, fmt: str) -> tuple[bytes, str]:
    from flowaudit.reports import render

    return render(comparison.report, fmt), MEDIA_TYPES[fmt]
