"""Markdown, CSV and XLSX reports. Markdown escapes captured text; CSV and XLSX neutralise formulas."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from flowaudit.core.escaping import spreadsheet_safe
from flowaudit.reports.data import type_name
from flowaudit.reports.i18n import label

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def md(text: object) -> str:
    """Captured text as inert Markdown: special characters escaped, HTML neutralised, one line."""
    value = "" if text is None else str(text)
    value = value.replace("&", "&amp;").replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", value)


def md_code(text: object) -> str:
    """Captured text in a code span: no backtick can close it (shown as U+02CB) and no pipe can split a
    table cell; Markdown renders code-span content as literal text."""
    value = ("" if text is None else str(text)).replace("\n", " ").replace("\r", " ")
    return "`" + value.replace("`", "\u02cb").replace("|", "\\|") + "`"


def render_markdown(r: dict[str, Any]) -> str:
    lang = r["lang"]

    def L(key: str, **kw: object) -> str:  # noqa: N802
        return label(key, lang, **kw)

    def tn(types: list[str]) -> str:
        return ", ".join(md(type_name(t, lang)) for t in types)

    out: list[str] = [f"# {L('title')}", ""]
    app = r.get("app") or {}
    out.append(f"- {L('session')}: **{md(r['session']['name'])}**")
    if app:
        out.append(f"- {L('app')}: {md(app.get('name'))} ({md_code(app.get('package') or '')})")
    out.append(f"- {L('generated')}: {md(r['generated_at'])}")
    out += ["", f"## {L('summary')}", ""]
    out.append(" · ".join(f"{L('severity_' + s)}: {n}" for s, n in r["summary"]["findings_by_severity"].items()))
    if not r.get("declaration"):
        out += ["", L("no_declaration")]
    out += ["", f"### {L('sdks_seen')}", "", f"| {L('sdk')} | {L('vendor')} | {L('requests')} | {L('data_type')} | {L('declared')} |",
            "|---|---|---|---|---|"]
    for s in r["summary"]["sdks_seen"]:
        name = s["name_zh"] if lang == "zh" and s["name_zh"] else s["name"]
        state = "–" if s["declared"] is None else ("✓" if s["declared"] else "✗ " + L("undeclared"))
        out.append(f"| {md(name)} ({md_code(s['sdk_id'])}) | {md(s['vendor'])} | {s['requests']} | {tn(s['data_types'])} | {state} |")
    if r.get("declaration"):
        out += ["", f"### {L('sdks_declared')}", "", f"| {L('sdk')} | {L('vendor')} | {L('observed')} |", "|---|---|---|"]
        for s in r["summary"]["sdks_declared"]:
            out.append(f"| {md(s['name'])} | {md(s['vendor'] or '')} | {'✓' if s['observed'] else L('not_observed')} |")
    if r.get("declaration"):
        out += ["", f"### {L('pi_declared')}", "", f"| {L('published_name')} | {L('data_type')} | {L('sensitive')} | {L('observed')} |",
                "|---|---|---|---|"]
        for p in r["summary"]["pi_declared"]:
            sensitive = "–" if p["sensitive"] is None else ("✓" if p["sensitive"] else "✗")
            out.append(f"| {md(p['type'])} | {tn(p['data_types'])} | {sensitive} | {'✓' if p['observed'] else L('not_observed')} |")
    out += ["", f"### {L('types_seen')}", "", f"| {L('data_type')} | {L('requests')} | {L('declared')} |", "|---|---|---|"]
    for t in r["summary"]["types_seen"]:
        state = "–" if t["declared"] is None else ("✓" if t["declared"] else "✗ " + L("undeclared"))
        out.append(f"| {md(t['type_name'])} ({md_code(t['type'])}) | {t['requests']} | {state} |")
    out += ["", f"## {L('findings')} ({len(r['findings'])})", ""]
    if not r["findings"]:
        out.append(L("no_findings"))
    for f in r["findings"]:
        review = f" ({L('review')})" if f["review"] else ""
        out += [f"### {f['id']} [{L('severity_' + f['severity'])}] {md(f['title'])}{review}", ""]
        facts = []
        if f["sdk_id"]:
            facts.append(f"{L('sdk')}: **{md(f['sdk_name'] or f['sdk_id'])}**")
        if f["data_types"]:
            facts.append(f"{L('data_type')}: **{tn(f['data_types'])}**")
        if f["host"]:
            facts.append(f"{L('host')}: {md_code(f['host'])}")
        if facts:
            out += [" · ".join(facts), ""]
        out += [md(f["explanation"]), "", f"*{L('legal_basis')}: {md(f['legal_basis'])}* · {md_code(f['kind'])}", ""]
        if f["details"]:
            out += [f"{L('details')}: {md_code(json.dumps(f['details'], ensure_ascii=False, default=str)[:1500])}", ""]
        for e in f["evidence"]:
            status = f" → {e['status']}" if e["status"] else ""
            out.append(f"- {md_code('#' + str(e['observation_id']) + ' +' + format(e['offset'], '.1f') + 's ' + e['request_line'])}{status}")
            for d in e["fields"]:
                out.append(f"  - {md(d['type_name'])}: {md_code(d['location'] + ': ' + d['key'])} "
                           f"{L('encoding')} {md_code(d['encoding'])} {L('preview')} {md_code(d['preview'])}")
        if f["evidence_count"] > len(f["evidence"]):
            out.append(f"- {L('more_evidence', n=f['evidence_count'] - len(f['evidence']))}")
        out.append("")
    out += [f"## {L('timeline')}", "", f"| {L('time')} | {L('event')} | {L('data_type')} | {L('findings')} |", "|---|---|---|---|"]
    for e in r["timeline"]:
        if e["what"] == "marker":
            out.append(f"| +{e['offset']:.1f}s | **{L('marker')}: {md(e['marker'])}** {md(e['label'])} | | |")
        else:
            sdk = f" · {md(e['sdk'])}" if e["sdk"] else ""
            out.append(f"| +{e['offset']:.1f}s | {md_code(e['request_line'])}{sdk} | {tn(e['data_types'])} | {' '.join(e['findings'])} |")
    if r.get("timeline_truncated"):
        out.append("\n" + L("truncated", n=r["timeline_truncated"]))
    m = r["method"]
    out += ["", f"## {L('method')}", "",
            f"- {L('version')}: {md(m['flowaudit_version'])}",
            f"- {L('signature_db')}: {m['signature_db']['count']} ({md_code(m['signature_db']['digest'] or '-')})",
            f"- {L('device_profile')}: {tn(m['device_profile_types']) or '-'}",
            f"- {L('capture_sources')}: {md(', '.join(m['capture_sources'])) or '-'}",
            f"- {L('first_party')}: {md(', '.join(m['first_party_domains'])) or '-'}",
            f"- {L('declaration')}: {md(m['declaration_source'] or '-')}",
            f"- {L('consent_moment')}: " + (L("no_consent") if m["consent_offset"] is None and m["refusal_offset"] is None
                                             else " ".join(x for x in (
                                                 L("consent_at", c=m["consent_offset"]) if m["consent_offset"] is not None else "",
                                                 L("refusal_at", r=m["refusal_offset"]) if m["refusal_offset"] is not None else "")
                                                 if x)),
            "", md(L("method_note", conf=m["min_confidence"], win=int(m["user_action_window_s"]))), ""]
    return "\n".join(out)


FINDING_COLUMNS = ("id", "severity", "kind", "title", "legal_basis", "sdk_id", "sdk_name", "data_types", "host",
                   "evidence_count", "evidence_ids", "first_request", "first_field", "explanation", "details")


def finding_rows(r: dict[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = []
    for f in r["findings"]:
        first = f["evidence"][0] if f["evidence"] else None
        field = first["fields"][0] if first and first["fields"] else None
        rows.append([f["id"], f["severity"], f["kind"], f["title"], f["legal_basis"], f["sdk_id"] or "",
                     f["sdk_name"] or "", ",".join(f["data_types"]), f["host"] or "", f["evidence_count"],
                     " ".join(str(i) for i in f["evidence_ids"][:200]), first["request_line"] if first else "",
                     f"{field['location']}:{field['key']} [{field['encoding']}] {field['preview']}" if field else "",
                     f["explanation"], json.dumps(f["details"], ensure_ascii=False, default=str)[:5000]])
    return rows


def _safe_row(row: list[object]) -> list[object]:
    return [spreadsheet_safe(v) for v in row]


def render_csv(r: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(FINDING_COLUMNS)
    for row in finding_rows(r):
        writer.writerow(_safe_row(row))
    return "\ufeff" + buf.getvalue()   # BOM so spreadsheet programs read the Chinese text as UTF-8


def render_xlsx(r: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    lang = r["lang"]
    wb = Workbook()
    summary = wb.active
    summary.title = "summary"
    summary.append(_safe_row([label("title", lang)]))
    summary.append(_safe_row([label("session", lang), r["session"]["name"]]))
    summary.append(_safe_row([label("generated", lang), r["generated_at"]]))
    for sev, n in r["summary"]["findings_by_severity"].items():
        summary.append(_safe_row([label("severity_" + sev, lang), n]))
    summary.append([])
    summary.append(_safe_row([label("sdks_seen", lang), label("vendor", lang), label("requests", lang),
                              label("data_type", lang), label("declared", lang)]))
    for s in r["summary"]["sdks_seen"]:
        summary.append(_safe_row([s["sdk_id"], s["vendor"], s["requests"], ",".join(s["data_types"]),
                                  "" if s["declared"] is None else ("yes" if s["declared"] else "no")]))
    summary.append([])
    summary.append(_safe_row([label("types_seen", lang), label("requests", lang), label("declared", lang)]))
    for t in r["summary"]["types_seen"]:
        summary.append(_safe_row([t["type"], t["requests"], "" if t["declared"] is None else ("yes" if t["declared"] else "no")]))

    findings = wb.create_sheet("findings")
    findings.append(list(FINDING_COLUMNS))
    for row in finding_rows(r):
        findings.append(_safe_row(row))

    evidence = wb.create_sheet("evidence")
    evidence.append(["finding", "observation_id", "offset_s", "request_line", "status", "sdk", "data_type", "field",
                     "encoding", "preview"])
    for f in r["findings"]:
        for e in f["evidence"]:
            for d in e["fields"] or [None]:
                evidence.append(_safe_row([f["id"], e["observation_id"], e["offset"], e["request_line"], e["status"],
                                           e["sdk"] or "", d["type"] if d else "", f"{d['location']}:{d['key']}" if d else "",
                                           d["encoding"] if d else "", d["preview"] if d else ""]))

    timeline = wb.create_sheet("timeline")
    timeline.append(["offset_s", "what", "event", "data_types", "findings"])
    for e in r["timeline"]:
        if e["what"] == "marker":
            timeline.append(_safe_row([e["offset"], "marker", f"{e['marker']} {e['label']}".strip(), "", ""]))
        else:
            timeline.append(_safe_row([e["offset"], "request", e["request_line"], ",".join(e["data_types"]),
                                       " ".join(e["findings"])]))
    m = r["method"]
    method = wb.create_sheet("method")
    for key, value in (("flowaudit_version", m["flowaudit_version"]), ("signatures", m["signature_db"]["count"]),
                       ("signature_digest", m["signature_db"]["digest"] or ""),
                       ("device_profile_types", ",".join(m["device_profile_types"])),
                       ("capture_sources", ",".join(m["capture_sources"])),
                       ("first_party_domains", ",".join(m["first_party_domains"])),
                       ("declaration", m["declaration_source"] or "")):
        method.append(_safe_row([key, value]))
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
