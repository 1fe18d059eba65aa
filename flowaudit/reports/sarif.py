"""SARIF 2.1.0: one rule per finding kind, one result per finding located at the request URL."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from flowaudit import __version__
from flowaudit.core.legal import CATALOGUE

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
INFORMATION_URI = "https://github.com/flowaudit/flowaudit"


def _uri(text: str) -> str:
    """A valid URI reference for SARIF consumers: characters a URI may not hold are percent-encoded."""
    return quote(text, safe=":/?#[]@!$&'()*+,;=%~-._")


def render_sarif(r: dict[str, Any]) -> dict[str, Any]:
    lang = r["lang"]
    rules = []
    rule_index = {}
    for i, kind in enumerate(CATALOGUE):
        rule_index[kind.kind] = i
        rules.append({
            "id": kind.kind,
            "name": "".join(part.title() for part in kind.kind.split("_")),
            "shortDescription": {"text": kind.title_en if lang == "en" else kind.title_zh},
            "fullDescription": {"text": kind.explanation_en if lang == "en" else kind.explanation_zh},
            "help": {"text": (kind.legal_basis_en if lang == "en" else kind.legal_basis_zh)},
            "defaultConfiguration": {"level": LEVELS[str(kind.severity)]},
            "properties": {"legal_basis": kind.legal_basis_zh, "legal_basis_en": kind.legal_basis_en,
                           "severity": str(kind.severity), "review": kind.review,
                           "tags": ["privacy", "compliance"] + (["review"] if kind.review else [])},
        })
    results = []
    for f in r["findings"]:
        locations = []
        for e in f["evidence"][:5]:
            locations.append({"physicalLocation": {"artifactLocation": {"uri": _uri(e["url"] if "://" in e["url"]
                                                                              else f"tls://{e['host']}")}},
                              "message": {"text": e["request_line"][:1000]}})
        if not locations and r.get("declaration") and r["declaration"].get("source"):
            locations.append({"physicalLocation": {"artifactLocation": {"uri": _uri(r["declaration"]["source"])}}})
        fingerprint = hashlib.sha256("|".join([f["kind"], f["sdk_id"] or "", f["host"] or "", ",".join(f["data_types"]),
                                               str(f["details"].get("entry", ""))]).encode("utf-8")).hexdigest()[:32]
        text = f["title"]
        subject = " · ".join(x for x in (f["sdk_name"] or f["sdk_id"] or "", ",".join(f["data_types"]), f["host"] or "") if x)
        result: dict[str, Any] = {
            "ruleId": f["kind"], "ruleIndex": rule_index.get(f["kind"], 0), "level": LEVELS.get(f["severity"], "note"),
            "message": {"text": f"{text}: {subject}" if subject else text},
            "partialFingerprints": {"flowauditFinding/v1": fingerprint},
            "properties": {"finding_id": f["id"], "severity": f["severity"], "legal_basis": f["legal_basis_zh"],
                           "sdk_id": f["sdk_id"], "data_types": f["data_types"], "host": f["host"],
                           "evidence": f["evidence_ids"][:200], "evidence_count": f["evidence_count"]},
        }
        if locations:
            result["locations"] = locations
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "flowaudit", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "automationDetails": {"id": f"flowaudit/{r['session']['name']}"},
            "invocations": [{"executionSuccessful": True}],
            "results": results,
            "properties": {"session": r["session"]["name"], "app_id": r["session"]["app_id"],
                           "signature_db": r["method"]["signature_db"]},
        }],
    }
