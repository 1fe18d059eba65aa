"""The content of a report, built once and rendered by every format: summary, findings with evidence,
timeline and method. Everything captured stays as the stored (redacted) text; renderers escape it."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from flowaudit import __version__
from flowaudit.core import taxonomy
from flowaudit.core.compare import (
    MIN_CONFIDENCE,
    USER_ACTION_WINDOW,
    SessionView,
    consent_moments,
    declared_sdk_map,
)
from flowaudit.core.declarations import Declaration
from flowaudit.core.legal import KINDS
from flowaudit.core.model import Finding, Severity
from flowaudit.core.pipeline import Analysis

REPORT_VERSION = 1
EVIDENCE_SHOWN = 5
TIMELINE_LIMIT = 1000
SEVERITIES = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]


def type_name(type_id: str | None, lang: str) -> str:
    if not type_id:
        return ""
    entry = getattr(taxonomy, "TYPES", {}).get(type_id)
    if entry is None:
        return type_id
    return entry.name_en if lang == "en" else entry.name_zh


def _sdk_label(a: Analysis, lang: str) -> str | None:
    att = a.attribution
    if att is None:
        return None
    if att.first_party:
        return "first party" if lang == "en" else "第一方"
    return (att.name_zh if lang == "zh" and att.name_zh else att.name) or att.sdk_id


def _time(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def signature_db_info(index: object | None) -> dict[str, Any]:
    signatures = dict(getattr(index, "signatures", {}) or {})
    digest = hashlib.sha256()
    for sig_id in sorted(signatures):
        sig = signatures[sig_id]
        dump = sig.model_dump_json() if hasattr(sig, "model_dump_json") else sig_id
        digest.update(dump.encode("utf-8"))
    return {"count": len(signatures), "digest": digest.hexdigest()[:16] if signatures else None}


def _evidence(a: Analysis, types: set[str], lang: str, start: float) -> dict[str, Any]:
    obs = a.observation
    fields = [{"type": d.type, "type_name": type_name(d.type, lang), "location": d.location, "key": d.key,
               "encoding": d.encoding, "preview": d.preview, "confidence": round(d.confidence, 2)}
              for d in a.detections if (not types or d.type in types) and d.confidence >= MIN_CONFIDENCE]
    return {"observation_id": obs.id, "ts": obs.ts, "time": _time(obs.ts), "offset": round(obs.ts - start, 3),
            "request_line": f"{obs.method or ''} {obs.url}".strip() if not obs.host_only else f"{obs.kind} {obs.host}",
            "method": obs.method, "url": obs.url, "host": obs.host, "status": obs.status, "tls": obs.tls,
            "kind": str(obs.kind), "sdk": _sdk_label(a, lang), "sdk_id": a.attribution.sdk_id if a.attribution else None,
            "fields": fields}


def _finding_types(f: Finding) -> set[str]:
    types = set(f.details.get("data_types", []) or []) if isinstance(f.details.get("data_types"), list) else set()
    if f.data_type:
        types.add(f.data_type)
    return types


def build_report(view: SessionView, findings: list[Finding], declaration: Declaration | None = None,
                 index: object | None = None, *, lang: str = "zh", declaration_source: str | None = None,
                 generated_at: datetime | None = None) -> dict[str, Any]:
    lang = "en" if lang == "en" else "zh"
    by_id = {a.observation.id: a for a in view.analyses if a.observation.id is not None}
    times = [a.observation.ts for a in view.analyses] + [m.ts for m in view.markers]
    start = min(times) if times else 0.0
    signatures = dict(getattr(index, "signatures", {}) or {})

    # SDKs seen vs declared
    seen: dict[str, dict[str, Any]] = {}
    type_requests: Counter[str] = Counter()
    type_recipients: dict[str, set[str]] = defaultdict(set)
    for a in view.analyses:
        att = a.attribution
        if att is not None and not att.first_party:
            sig = signatures.get(att.sdk_id)
            vendor = ((sig.vendor.name_zh or sig.vendor.name) if lang == "zh" else sig.vendor.name) if sig else att.vendor
            entry = seen.setdefault(att.sdk_id, {"sdk_id": att.sdk_id, "name": att.name, "name_zh": att.name_zh,
                                                 "vendor": vendor, "category": att.category, "requests": 0,
                                                 "hosts": set(), "data_types": set()})
            entry["requests"] += 1
            entry["hosts"].add(a.observation.host)
            entry["data_types"].update(d.type for d in a.detections if d.confidence >= MIN_CONFIDENCE)
        for t in {d.type for d in a.detections if d.confidence >= MIN_CONFIDENCE}:
            type_requests[t] += 1
            type_recipients[t].add(att.sdk_id if att is not None and not att.first_party else a.observation.host)
    declared_sdks: list[dict[str, Any]] = []
    declared_ids: set[str] = set()
    declared_types: set[str] = set()
    pi_declared: list[dict[str, Any]] = []
    if declaration is not None:
        matches, declared_map, entry_ids = declared_sdk_map(declaration, signatures)
        declared_ids = set(declared_map)
        for i, e in enumerate(declaration.sdk_list):
            match = matches[i]
            types = e.resolved_types()
            declared_types.update(types)
            declared_sdks.append({"name": e.name, "vendor": e.vendor, "sdk_id": match.sdk_id,
                                  "candidates": match.sdk_ids if match.ambiguous else [],
                                  "covers": sorted(entry_ids[i]),
                                  "observed": bool(entry_ids[i] & set(seen)),
                                  "pi_types": e.pi_types, "data_types": types,
                                  "privacy_policy_url": e.privacy_policy_url})
        for pi in declaration.pi_list:
            types = pi.resolved_types()
            declared_types.update(types)
            pi_declared.append({"type": pi.type, "data_types": types, "sensitive": pi.sensitive,
                                "necessary": pi.necessary, "frequency": pi.frequency.text if pi.frequency else None,
                                "observed": any(t in type_requests or (t == "precise_location" and "coarse_location"
                                                                         in type_requests) for t in types)})
    sdks_seen = [{**v, "hosts": sorted(v["hosts"]), "data_types": sorted(v["data_types"]),
                  "declared": v["sdk_id"] in declared_ids if declaration is not None else None}
                 for v in sorted(seen.values(), key=lambda v: (-v["requests"], v["sdk_id"]))]
    types_seen = [{"type": t, "type_name": type_name(t, lang), "requests": n, "recipients": sorted(type_recipients[t]),
                   "declared": (t in declared_types or (t == "coarse_location" and "precise_location" in declared_types))
                   if declaration is not None else None}
                  for t, n in sorted(type_requests.items(), key=lambda kv: (-kv[1], kv[0]))]
    by_severity = {s: 0 for s in SEVERITIES}
    for f in findings:
        by_severity[str(f.severity)] += 1

    # findings with evidence
    finding_items = []
    finding_ids_by_obs: dict[int, list[str]] = defaultdict(list)
    for n, f in enumerate(findings, start=1):
        fid = f"F{n:03d}"
        kind = KINDS.get(f.kind)
        types = _finding_types(f)
        evidence = [_evidence(by_id[i], types, lang, start) for i in f.evidence[:EVIDENCE_SHOWN] if i in by_id]
        for i in f.evidence:
            finding_ids_by_obs[i].append(fid)
        sdk_name = None
        if f.sdk_id:
            sig = signatures.get(f.sdk_id)
            sdk_name = ((sig.name_zh if lang == "zh" and sig.name_zh else sig.name) if sig else
                        f.details.get("sdk_name_zh" if lang == "zh" else "sdk_name") or f.sdk_id)
        finding_items.append({
            "id": fid, "kind": f.kind, "severity": str(f.severity), "review": bool(kind and kind.review),
            "title": f.title_en if lang == "en" else f.title_zh, "title_en": f.title_en, "title_zh": f.title_zh,
            "explanation": f.explanation_en if lang == "en" else f.explanation_zh,
            "legal_basis": (kind.legal_basis_en if kind else f.legal_basis) if lang == "en" else f.legal_basis,
            "legal_basis_zh": f.legal_basis, "sdk_id": f.sdk_id, "sdk_name": sdk_name, "data_type": f.data_type,
            "data_type_name": type_name(f.data_type, lang), "data_types": sorted(types),
            "host": f.host, "evidence_ids": list(f.evidence), "evidence_count": len(f.evidence),
            "evidence": evidence, "details": f.details,
        })

    # timeline: markers, and the requests that carry personal data or prove a finding
    timeline: list[dict[str, Any]] = [{"ts": m.ts, "time": _time(m.ts), "offset": round(m.ts - start, 3),
                                       "what": "marker", "marker": m.kind, "label": m.label} for m in view.markers]
    requests = [a for a in view.analyses if a.detections or (a.observation.id in finding_ids_by_obs)]
    for a in requests[:TIMELINE_LIMIT]:
        obs = a.observation
        timeline.append({"ts": obs.ts, "time": _time(obs.ts), "offset": round(obs.ts - start, 3), "what": "request",
                         "request_line": f"{obs.method or ''} {obs.url}".strip() if not obs.host_only else
                         f"{obs.kind} {obs.host}", "host": obs.host, "sdk": _sdk_label(a, lang),
                         "observation_id": obs.id,
                         "data_types": sorted({d.type for d in a.detections if d.confidence >= MIN_CONFIDENCE}),
                         "findings": finding_ids_by_obs.get(obs.id or -1, [])})
    timeline.sort(key=lambda e: (e["ts"], 0 if e["what"] == "marker" else 1))

    consent, refusal, _ = consent_moments(view, declaration)
    app: dict[str, Any] | None = None
    if declaration is not None:
        app = declaration.app.model_dump(mode="json")
    return {
        "report_version": REPORT_VERSION,
        "lang": lang,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "session": {"name": view.name, "app_id": view.app_id, "observations": len(view.analyses),
                    "markers": len(view.markers), "start": _time(start) if times else None},
        "app": app,
        "declaration": {"source": declaration_source, "sdk_entries": len(declaration.sdk_list),
                        "pi_entries": len(declaration.pi_list)} if declaration is not None else None,
        "summary": {
            "sdks_seen": sdks_seen, "sdks_declared": declared_sdks,
            "sdks_undeclared": [s["sdk_id"] for s in sdks_seen if s["declared"] is False],
            "sdks_not_observed": [s["name"] for s in declared_sdks if not s["observed"]],
            "types_seen": types_seen, "types_declared": sorted(declared_types), "pi_declared": pi_declared,
            "types_undeclared": [t["type"] for t in types_seen if t["declared"] is False],
            "findings_by_severity": by_severity, "findings": len(findings),
        },
        "findings": finding_items,
        "timeline": timeline,
        "timeline_truncated": max(0, len(requests) - TIMELINE_LIMIT),
        "method": {
            "flowaudit_version": __version__, "signature_db": signature_db_info(index),
            "device_profile_types": list(view.device_profile_types), "capture_sources": list(view.sources),
            "first_party_domains": sorted(set(view.first_party_domains) |
                                          set(declaration.app.first_party_domains if declaration else [])),
            "min_confidence": MIN_CONFIDENCE, "user_action_window_s": USER_ACTION_WINDOW,
            "declaration_source": declaration_source,
            "consent_offset": round(consent - start, 3) if consent is not None else None,
            "refusal_offset": round(refusal - start, 3) if refusal is not None else None,
        },
    }
