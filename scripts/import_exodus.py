"""Draft signature files from the Exodus Privacy tracker database.

Exodus (https://reports.exodus-privacy.eu.org, ODbL 1.0 / DbCL 1.0) describes each tracker with a
``network_signature``: a Python regex over host names. flowaudit signatures use domain/host rules instead,
so this script turns each alternative of the regex into a rule:

* ``app-measurement\\.com`` -> ``domain: app-measurement.com``
* ``.*\\.foo\\.com`` / ``\\.foo\\.com`` -> ``domain: foo.com``
* a host below a dedicated registrable domain (``c.w.inmobi.com``) collapses into that domain, so the whole
  vendor zone is covered, not only the hosts Exodus happened to see;
* a host below a shared platform domain (amazonaws.com, google.com, akamaihd.net...) stays an exact
  ``host:`` rule and is flagged for review, because the platform domain must never become an SDK;
* a bare word (``fidzup``) becomes ``<word>.com`` and is flagged for review;
* ``host:port/path`` alternatives become an ``ip:`` or ``host:`` rule with a ``path:`` condition.

The output is a draft: every file still needs review (vendor legal entity, category, narrower rules on
shared hosts, realistic examples). The committed YAML files under sdk_signatures/ are the reviewed data;
this script documents how the first drafts were made.

Usage: python scripts/import_exodus.py EXODUS_JSON OUT_DIR [--exclude 75,76] [--only 12,52]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tldextract
import yaml

SHARED_PLATFORM_DOMAINS = frozenset({
    "akamaihd.net", "akamaized.net", "akadns.net", "edgesuite.net", "amazonaws.com", "cloudfront.net",
    "azure.com", "microsoftonline.com", "google.com", "googleapis.com", "gstatic.com", "facebook.com",
    "apple.com", "herokudns.com", "herokuapp.com", "stackpathdns.com", "my.com", "mail.ru", "yandex.ru",
    "yandex.net", "yandex.com", "daum.net", "uber.com", "qq.com", "baidu.com", "aliyuncs.com",
    "myqcloud.com", "azureedge.net", "fastly.net", "cloudflare.net", "appspot.com", "firebaseapp.com",
})

CATEGORY_MAP = {
    "Advertisement": "advertising",
    "Analytics": "analytics",
    "Crash reporting": "crash_reporting",
    "Location": "location",
    "Profiling": "analytics",
    "Identification": "analytics",
}

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@dataclass
class Conversion:
    rules: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    review: bool = False


def slug(text: str) -> str:
    text = re.sub(r"\(.*?\)", "", text).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "tracker"


def split_alternatives(regex: str) -> list[str]:
    """Split on top-level ``|`` (Exodus signatures have no groups worth keeping)."""
    parts, depth, current = [], 0, []
    for char in regex:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]


def unescape(alternative: str) -> tuple[str, bool]:
    """Return the literal host text and whether the pattern allowed any subdomain."""
    text = alternative.lstrip("^").rstrip("$")
    wildcard = False
    for prefix in (".*\\.", ".*", "\\.", "."):
        if text.startswith(prefix):
            text, wildcard = text[len(prefix):], True
            break
    text = text.replace("\\.", ".").replace("\\-", "-").replace("\\", "")
    return text.strip(".").lower(), wildcard


def convert_alternative(alternative: str, out: Conversion) -> None:
    text, wildcard = unescape(alternative)
    path = None
    if "/" in text:
        text, _, rest = text.partition("/")
        path = "/" + rest
    host = text.split(":", 1)[0]
    if text.endswith(".*") or host.endswith("."):
        out.review = True
        out.notes.append(f"{alternative!r}: open-ended TLD, needs explicit hosts")
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        rule: dict[str, Any] = {"ip": host}
        if path:
            rule["path"] = path
        out.rules.append(rule)
        out.notes.append(f"{alternative!r}: IP-literal endpoint")
        return
    if "." not in host:
        out.review = True
        out.notes.append(f"{alternative!r}: bare word, assumed {host}.com")
        host = f"{host}.com"
    parts = _EXTRACT(host)
    registrable = f"{parts.domain}.{parts.suffix}" if parts.suffix else host
    if registrable in SHARED_PLATFORM_DOMAINS:
        out.review = True
        if host == registrable:
            out.notes.append(f"{alternative!r}: shared platform domain, dropped (needs host/path rules)")
            return
        rule = {"domain": host} if wildcard else {"host": host}
        out.notes.append(f"{alternative!r}: kept exact on shared platform domain {registrable}")
    else:
        rule = {"domain": registrable}
        if host != registrable:
            out.notes.append(f"{alternative!r}: widened to the vendor zone {registrable}")
    if path:
        rule["path"] = path
    if rule not in out.rules:
        out.rules.append(rule)


def convert_signature(regex: str) -> Conversion:
    out = Conversion()
    for alternative in split_alternatives(regex):
        convert_alternative(alternative, out)
    return out


def android_packages(code_signature: str) -> list[str]:
    packages = []
    for part in code_signature.split("|"):
        part = part.strip().strip(".")
        if part.count(".") >= 1 and not part.startswith("com.google") and part not in packages:
            packages.append(part)
    return packages


def examples(rules: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
    match: list[Any] = []
    no_match: list[str] = []
    for rule in rules:
        name = rule.get("host") or rule.get("domain")
        if not name:
            continue
        match.append({"url": f"https://{name}", "kind": "tls_sni"})
        if "domain" in rule and not match[1:]:
            match.append(f"https://{name}{rule.get('path', '/')}")
        if not no_match:
            no_match.append(f"https://{name}.example.org/")
    return match[:3], no_match


def draft(tracker: dict[str, Any]) -> tuple[dict[str, Any], Conversion]:
    conversion = convert_signature(tracker["network_signature"])
    categories = [CATEGORY_MAP[c] for c in tracker.get("categories", []) if c in CATEGORY_MAP]
    category = categories[0] if categories else "other"
    name = tracker["name"].strip()
    match, no_match = examples(conversion.rules)
    doc: dict[str, Any] = {
        "id": slug(name),
        "name": name,
        "vendor": {"id": slug(name), "name": name},
        "category": category,
        "also": sorted(set(categories) - {category}),
        "android_packages": android_packages(tracker.get("code_signature", "")),
        "network": conversion.rules,
        "references": [{"url": f"https://reports.exodus-privacy.eu.org/en/trackers/{tracker['id']}/"}],
        "provenance": [{"source": "exodus", "exodus_id": int(tracker["id"]), "license": "ODbL-1.0",
                        "note": f"network_signature {tracker['network_signature']}"}],
        "match": match,
        "no_match": no_match,
    }
    if tracker.get("website"):
        doc["references"].append({"url": tracker["website"]})
    return doc, conversion


def parse_ids(text: str | None) -> set[int]:
    return {int(x) for x in text.split(",") if x.strip()} if text else set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exodus_json", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--exclude", help="comma-separated Exodus ids to skip")
    parser.add_argument("--only", help="comma-separated Exodus ids to draft")
    args = parser.parse_args(argv)
    try:
        trackers = json.loads(args.exodus_json.read_text(encoding="utf-8"))["trackers"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read {args.exodus_json}: {exc}", file=sys.stderr)
        return 3
    exclude, only = parse_ids(args.exclude), parse_ids(args.only)
    drafted = flagged = 0
    for key in sorted(trackers, key=int):
        tracker = trackers[key]
        tid = int(tracker["id"])
        if not tracker.get("network_signature") or tid in exclude or (only and tid not in only):
            continue
        doc, conversion = draft(tracker)
        target = args.out_dir / f"{tid:03d}-{doc['id']}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        header = "".join(f"# {note}\n" for note in conversion.notes)
        if conversion.review:
            header = "# REVIEW: shared platform host or guessed domain\n" + header
            flagged += 1
        target.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        drafted += 1
    print(f"drafted {drafted} files into {args.out_dir} ({flagged} flagged for review)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
