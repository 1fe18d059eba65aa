"""Reports of a compared session: json, html, md, csv, xlsx and sarif, built from one report dict."""

from __future__ import annotations

import json
from typing import Any

from flowaudit.reports.data import build_report

FORMATS = ("json", "html", "md", "csv", "xlsx", "sarif")
SUFFIXES = {"json": ".json", "html": ".html", "md": ".md", "csv": ".csv", "xlsx": ".xlsx", "sarif": ".sarif"}


def render(report: dict[str, Any], fmt: str) -> bytes:
    """The report in one format, as the bytes to write."""
    if fmt == "json":
        return (json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")
    if fmt == "html":
        from flowaudit.reports.html_report import render_html
        return render_html(report).encode("utf-8")
    if fmt == "md":
        from flowaudit.reports.text_reports import render_markdown
        return render_markdown(report).encode("utf-8")
    if fmt == "csv":
        from flowaudit.reports.text_reports import render_csv
        return render_csv(report).encode("utf-8")
    if fmt == "xlsx":
        from flowaudit.reports.text_reports import render_xlsx
        return render_xlsx(report)
    if fmt == "sarif":
        from flowaudit.reports.sarif import render_sarif
        return (json.dumps(render_sarif(report), ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "SUFFIXES", "build_report", "render"]
