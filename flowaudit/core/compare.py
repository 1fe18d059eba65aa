"""Declared against observed: the only place that knows the rules.

``compare`` takes one session's observations (with their attribution and detections), its markers and the
app's declaration, and returns Findings with their kind, severity, legal basis and evidence. Reports and
the dashboard render these Findings; they never re-derive them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from flowaudit.core.declarations import Declaration, Frequency, SdkMatch, package_family, resolve_sdk_ids
from flowaudit.core.legal import KIND_ORDER, get_kind, make_finding
from flowaudit.core.model import Finding, Marker, ObservationKind, Severity
from flowaudit.core.necessary import GENERIC_DEVICE_INFO, find_category
from flowaudit.core.pipeline import Analysis
from flowaudit.core.signature_schema import Signature

MIN_CONFIDENCE = 0.5
try:  # the taxonomy knows each type's class; the sets below stand in for older taxonomy modules
    from flowaudit.core.taxonomy import immutable_device_ids, sensitive_types  # type: ignore[attr-defined]
    IMMUTABLE_IDS = tuple(sorted(immutable_device_ids()))
    SENSITIVE_TYPES = frozenset(sensitive_types())
except ImportError:  # pragma: no cover
    IMMUTABLE_IDS = ("imei", "meid", "mac_address", "serial_number")
    SENSITIVE_TYPES = frozenset({"precise_location", "id_card_number", "passport_number", "bank_card_number",
                                 "credentials", "contacts", "sms", "call_log", "clipboard"})
USER_ACTION_WINDOW = 120.0          # seconds a user_action marker covers a following download
MAX_EVIDENCE = 200                  # observation ids kept per finding; the count is in details
SKIP_AS_UNDECLARED_SDK = frozenset({"system_telemetry", "cdn", "infrastructure"})
USER_AGENT_HEADERS = frozenset({"user-agent", "x-user-agent"})

APK_TYPES = ("application/vnd.android.package-archive", "application/vnd.apple.ipa", "application/x-itunes-ipa",
             "application/x-ios-app", "application/vnd.ohos.hap")
_PACKAGE_PATH = re.compile(r"\.(apk|apks|xapk|ipa|hap|app)$", re.I)
_PATCH_HINT = re.compile(r"patch|hotfix|hot[_-]?update|tinker|sophix|robust|amigo|bsdiff", re.I)
_CODE_PATH = re.compile(r"\.(dex|jar|so|patch|jsbundle|bundle|wgt)$|index\.(android|ios)\.bundle", re.I)
_JS_BUNDLE_MARKERS = (b"__BUNDLE_START_TIME__", b"__d(function", b"__r(", b'"framework": "Vue"',
                      b"// { \"framework\"", b"webpackBootstrap")


@dataclass(slots=True)
class SessionView:
    """One stored session as the comparison sees it. Built by db/session_view.py or in code."""

    name: str
    app_id: str | None = None
    analyses: list[Analysis] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    first_party_domains: list[str] = field(default_factory=list)
    device_profile_types: list[str] = field(default_factory=list)   # for the report's method section
    sources: list[str] = field(default_factory=list)                 # capture sources seen (har, pcap...)


# --- helpers ------------------------------------------------------------------------------------------

def _host_in(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains if d)


def _counted(analysis: Analysis) -> list[str]:
    """Types this observation carries, ignoring weak detections and the OS-written User-Agent."""
    types: list[str] = []
    for d in analysis.detections:
        if d.confidence < MIN_CONFIDENCE:
            continue
        if d.type in GENERIC_DEVICE_INFO and d.location == "header" and d.key.lower() in USER_AGENT_HEADERS:
            continue
        if d.type not in types:
            types.append(d.type)
    return types


def _identifying(types: Iterable[str]) -> list[str]:
    return [t for t in types if t not in GENERIC_DEVICE_INFO]


def _covers(declared: set[str], observed: str) -> bool:
    if observed in declared:
        return True
    return observed == "coarse_location" and "precise_location" in declared


def _ids(analyses: Iterable[Analysis]) -> list[int]:
    out = [a.observation.id for a in analyses if a.observation.id is not None]
    return out[:MAX_EVIDENCE]


def _span(analyses: list[Analysis]) -> dict[str, object]:
    return {"requests": len(analyses), "first_ts": analyses[0].observation.ts, "last_ts": analyses[-1].observation.ts}


@dataclass(slots=True)
class _Recipient:
    kind: str            # sdk, first_party, declared_partner, unknown
    key: str             # sdk id, host or partner name
    declared: bool


def consent_moments(view: SessionView, declaration: Declaration | None) -> tuple[float | None, float | None,
                                                                              float | None]:
    """(first consent, first refusal, first consent after that refusal), from markers and from the
    declaration's consent requests; None where the session shows no such moment."""
    consent_kind = declaration.consent.marker if declaration else "consent"
    refusal_kind = declaration.consent.refusal_marker if declaration else "refusal"
    consents = [m.ts for m in view.markers if m.kind == consent_kind]
    refusals = [m.ts for m in view.markers if m.kind == refusal_kind]
    if declaration and declaration.consent.requests:
        for a in view.analyses:
            obs = a.observation
            for rule in declaration.consent.requests:
                if not obs.host_only and rule.matches(obs.host, obs.path, obs.method):
                    (consents if rule.means == "consent" else refusals).append(obs.ts)
    consent = min(consents) if consents else None
    refusal = min(refusals) if refusals else None
    after = min((t for t in consents if refusal is not None and t > refusal), default=None)
    return consent, refusal, after


def declared_sdk_map(declaration: Declaration | None, signatures: dict[str, Signature]) -> tuple[
        dict[int, SdkMatch], dict[str, int], dict[int, set[str]]]:
    """(match per SDK-list entry, entry index per declared SDK id, SDK ids per entry). An entry declares
    the signature it matched and that SDK's package family (see declarations.package_family)."""
    matches: dict[int, SdkMatch] = resolve_sdk_ids(declaration, signatures.values()) if declaration else {}
    declared: dict[str, int] = {}
    entry_ids: dict[int, set[str]] = defaultdict(set)
    if declaration is None:
        return matches, declared, entry_ids
    for i, match in matches.items():
        if match.sdk_id:
            declared.setdefault(match.sdk_id, i)
            entry_ids[i].add(match.sdk_id)
    for i, match in matches.items():  # families after every direct match, which take precedence
        for sid in package_family(declaration.sdk_list[i], match, signatures):
            declared.setdefault(sid, i)
            entry_ids[i].add(sid)
    return matches, declared, entry_ids


class _Context:
    def __init__(self, view: SessionView, declaration: Declaration | None, signatures: dict[str, Signature]):
        self.view = view
        self.declaration = declaration
        self.signatures = signatures
        self.analyses = sorted(view.analyses, key=lambda a: (a.observation.ts, a.observation.id or 0))
        # Only domains someone stated: package names are no proof of domain ownership.
        first_party = [d.lower() for d in view.first_party_domains]
        if declaration:
            first_party.extend(declaration.app.first_party_domains)
        self.first_party = sorted(set(first_party))
        self.matches, self.declared_sdks, self.entry_ids = declared_sdk_map(declaration, signatures)
        self.ambiguous: dict[str, list[str]] = defaultdict(list)
        if declaration:
            for i, match in self.matches.items():
                for sid in match.sdk_ids if match.ambiguous else ():
                    self.ambiguous[sid].append(declaration.sdk_list[i].name)
        self.partner_hosts: dict[str, str] = {}
        if declaration:
            for entry in declaration.sdk_list:
                for host in entry.hosts:
                    self.partner_hosts[host] = entry.name
        self.consent_ts, self.refusal_ts, self.consent_after_refusal = consent_moments(view, declaration)

    def recipient(self, a: Analysis) -> _Recipient:
        att, host = a.attribution, a.observation.host
        if att is not None and not att.first_party:
            if att.sdk_id not in self.declared_sdks:
                # equally good matches: a declared one explains the request
                declared_tie = next((t for t in att.ties if t in self.declared_sdks), None)
                if declared_tie:
                    return _Recipient("sdk", declared_tie, True)
            return _Recipient("sdk", att.sdk_id, att.sdk_id in self.declared_sdks)
        if (att is not None and att.first_party) or _host_in(host, self.first_party):
            return _Recipient("first_party", host, True)
        for partner_host, name in self.partner_hosts.items():
            if _host_in(host, [partner_host]):
                return _Recipient("declared_partner", name, True)
        return _Recipient("unknown", host, False)

    def category(self, a: Analysis) -> str | None:
        if a.attribution is None:
            return None
        sig = self.signatures.get(a.attribution.sdk_id)
        return str(sig.category) if sig else a.attribution.category

    def is_consent_request(self, a: Analysis) -> bool:
        if not self.declaration:
            return False
        obs = a.observation
        return any(r.matches(obs.host, obs.path, obs.method) for r in self.declaration.consent.requests)


def _sdk_of(r: _Recipient) -> str | None:
    return r.key if r.kind == "sdk" else None


# --- the rules ----------------------------------------------------------------------------------------

def compare(view: SessionView, declaration: Declaration | None, index: object | None = None) -> list[Finding]:
    """All findings for one session. ``index`` is a SignatureIndex (or anything with a ``signatures``
    mapping of id to Signature); without it, only explicit sdk ids in the declaration match."""
    signatures: dict[str, Signature] = dict(getattr(index, "signatures", {}) or {})
    ctx = _Context(view, declaration, signatures)
    findings: list[Finding] = []
    for rule in (_undeclared_sdk, _sdk_entry_incomplete, _undeclared_data_type, _data_type_not_declared_for_sdk,
                 _undeclared_recipient, _collected_before_consent, _collected_after_refusal, _cleartext,
                 _excessive_frequency, _downloads, _beyond_necessary_scope, _sensitive_pi_not_marked,
                 _immutable_device_id, _opaque_payload, _declared_not_observed):
        findings.extend(rule(ctx))
    findings.sort(key=lambda f: (-f.severity.rank, KIND_ORDER.get(f.kind, 99), f.sdk_id or "", f.host or "",
                                 f.data_type or ""))
    return findings


def _undeclared_sdk(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None:
        return []
    by_sdk: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        r = ctx.recipient(a)
        if r.kind == "sdk" and not r.declared:
            by_sdk[r.key].append(a)
    out = []
    for sdk_id, items in by_sdk.items():
        types = sorted({t for a in items for t in _counted(a)})
        if ctx.category(items[0]) in SKIP_AS_UNDECLARED_SDK and not _identifying(types):
            continue
        att = items[0].attribution
        details: dict[str, object] = {
            **_span(items), "sdk_name": att.name if att else sdk_id, "sdk_name_zh": att.name_zh if att else None,
            "vendor": att.vendor if att else None, "hosts": sorted({a.observation.host for a in items}),
            "data_types": types, "host_only": all(a.observation.host_only for a in items)}
        if ctx.ambiguous.get(sdk_id):
            details["ambiguous_entries"] = ctx.ambiguous[sdk_id]
        out.append(make_finding("undeclared_sdk", severity=Severity.HIGH if _identifying(types) else Severity.MEDIUM,
                                sdk_id=sdk_id, host=items[0].observation.host, evidence=_ids(items), details=details))
    return out


def _sdk_entry_incomplete(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None:
        return []
    out = []
    for i, entry in enumerate(ctx.declaration.sdk_list):
        missing = entry.missing_fields()
        if missing:
            out.append(make_finding("sdk_entry_incomplete", sdk_id=ctx.matches[i].sdk_id,
                                    details={"entry": entry.name, "entry_index": i, "missing": missing}))
    return out


def _type_severity(kind: str, type_id: str) -> Severity:
    """Device model, OS version, carrier and screen identify nobody on their own: one step lower."""
    default = get_kind(kind).severity
    return Severity.LOW if type_id in GENERIC_DEVICE_INFO and default.rank > Severity.LOW.rank else default


def _declared_types(declaration: Declaration) -> set[str]:
    declared: set[str] = set()
    for pi in declaration.pi_list:
        declared.update(pi.resolved_types())
    for sdk in declaration.sdk_list:
        declared.update(sdk.resolved_types())
    return declared


def _undeclared_data_type(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None:
        return []
    declared = _declared_types(ctx.declaration)
    by_type: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        for t in _counted(a):
            if not _covers(declared, t):
                by_type[t].append(a)
    out = []
    for t, items in by_type.items():
        recipients = sorted({ctx.recipient(a).key for a in items})
        sdk_ids = sorted({a.attribution.sdk_id for a in items if a.attribution and not a.attribution.first_party})
        out.append(make_finding("undeclared_data_type", data_type=t, severity=_type_severity("undeclared_data_type", t), host=items[0].observation.host,
                                sdk_id=sdk_ids[0] if len(sdk_ids) == 1 else None, evidence=_ids(items),
                                details={**_span(items), "recipients": recipients}))
    return out


def _data_type_not_declared_for_sdk(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None:
        return []
    groups: dict[tuple[str, str], list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        r = ctx.recipient(a)
        if r.kind != "sdk" or not r.declared:
            continue
        entry = ctx.declaration.sdk_list[ctx.declared_sdks[r.key]]
        declared = set(entry.resolved_types())
        for t in _counted(a):
            if not _covers(declared, t):
                groups[(r.key, t)].append(a)
    out = []
    for (sdk_id, t), items in groups.items():
        entry = ctx.declaration.sdk_list[ctx.declared_sdks[sdk_id]]
        out.append(make_finding("data_type_not_declared_for_sdk", sdk_id=sdk_id, data_type=t,
                                severity=_type_severity("data_type_not_declared_for_sdk", t),
                                host=items[0].observation.host, evidence=_ids(items),
                                details={**_span(items), "entry": entry.name, "declared_types": entry.resolved_types(),
                                         "declared_text": entry.pi_types}))
    return out


def _undeclared_recipient(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None and not ctx.first_party:
        return []
    groups: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        r = ctx.recipient(a)
        if r.declared or not _identifying(_counted(a)):
            continue
        if ctx.declaration is None and r.kind == "sdk":
            continue
        groups[a.observation.host].append(a)
    out = []
    for host, items in groups.items():
        att = items[0].attribution
        types = sorted({t for a in items for t in _identifying(_counted(a))})
        out.append(make_finding("undeclared_recipient", host=host,
                                sdk_id=att.sdk_id if att and not att.first_party else None,
                                data_type=types[0] if len(types) == 1 else None, evidence=_ids(items),
                                details={**_span(items), "data_types": types, "attributed": att is not None}))
    return out


def _pi_window(ctx: _Context, kind: str, start: float | None, end: float | None) -> list[Finding]:
    groups: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        ts = a.observation.ts
        if (start is not None and ts <= start) or (end is not None and ts >= end):
            continue
        if ctx.is_consent_request(a) or not _identifying(_counted(a)):
            continue
        groups[ctx.recipient(a).key].append(a)
    out = []
    for _key, items in groups.items():
        types = sorted({t for a in items for t in _identifying(_counted(a))})
        r = ctx.recipient(items[0])
        out.append(make_finding(kind, sdk_id=_sdk_of(r), host=items[0].observation.host, data_type=types[0] if len(types) == 1 else None,
                                evidence=_ids(items),
                                details={**_span(items), "data_types": types, "recipient": r.kind,
                                         "consent_ts": ctx.consent_ts, "refusal_ts": ctx.refusal_ts}))
    return out


def _collected_before_consent(ctx: _Context) -> list[Finding]:
    if ctx.consent_ts is None:
        if ctx.refusal_ts is None:
            return []
        return _pi_window(ctx, "collected_before_consent", None, ctx.refusal_ts)
    end = ctx.consent_ts if ctx.refusal_ts is None else min(ctx.consent_ts, ctx.refusal_ts)
    return _pi_window(ctx, "collected_before_consent", None, end)


def _collected_after_refusal(ctx: _Context) -> list[Finding]:
    if ctx.refusal_ts is None:
        return []
    return _pi_window(ctx, "collected_after_refusal", ctx.refusal_ts, ctx.consent_after_refusal)


def _cleartext(ctx: _Context) -> list[Finding]:
    groups: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        obs = a.observation
        if obs.host_only or obs.tls or (obs.scheme or "http").lower() not in ("http", "ws"):
            continue
        if _identifying(_counted(a)):
            groups[obs.host].append(a)
    out = []
    for _host, items in groups.items():
        types = sorted({t for a in items for t in _identifying(_counted(a))})
        r = ctx.recipient(items[0])
        out.append(make_finding("cleartext_transmission_of_pi", sdk_id=_sdk_of(r), host=items[0].observation.host,
                                data_type=types[0] if len(types) == 1 else None, evidence=_ids(items),
                                details={**_span(items), "data_types": types, "recipient": r.kind,
                                         "url": items[0].observation.url.split("?")[0]}))
    return out


def _launch_segments(ctx: _Context) -> list[float]:
    """Start times of app launches: the session start and every foreground marker."""
    return sorted(m.ts for m in ctx.view.markers if m.kind == "foreground")


def _worst_window(times: list[float], seconds: float | None, launches: list[float]) -> tuple[int, int, int]:
    """(count, first index, last index) of the busiest window: a sliding window of ``seconds``, or for
    per-launch limits, the busiest stretch between two launches."""
    best = (0, 0, -1)
    if seconds is None:
        segment = [bisect_right(launches, t) for t in times]
        start = 0
        for i in range(1, len(times) + 1):
            if i == len(times) or segment[i] != segment[start]:
                if i - start > best[0]:
                    best = (i - start, start, i - 1)
                start = i
        return best
    j = 0
    for i in range(len(times)):
        while times[i] - times[j] >= seconds:
            j += 1
        if i - j + 1 > best[0]:
            best = (i - j + 1, j, i)
    return best


def _excessive_frequency(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None:
        return []
    sdk_limits: dict[str, tuple[Frequency, str]] = {}
    for sdk_id, i in ctx.declared_sdks.items():
        entry = ctx.declaration.sdk_list[i]
        if entry.frequency and entry.frequency.max_count is not None:
            sdk_limits[sdk_id] = (entry.frequency, entry.name)
    type_limits: dict[str, tuple[Frequency, str]] = {}
    for pi in ctx.declaration.pi_list:
        if pi.frequency and pi.frequency.max_count is not None:
            for t in pi.resolved_types():
                type_limits.setdefault(t, (pi.frequency, pi.type))
    groups: dict[tuple[str, str], list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        r = ctx.recipient(a)
        for t in _counted(a):
            groups[(t, r.key)].append(a)
    launches = _launch_segments(ctx)
    out = []
    for (t, recipient_key), items in groups.items():
        limit = sdk_limits.get(recipient_key)
        if limit is None:
            limit = type_limits.get(t) or (type_limits.get("precise_location") if t == "coarse_location" else None)
        if limit is None:
            continue
        frequency, source = limit
        assert frequency.max_count is not None
        times = [a.observation.ts for a in items]
        count, first, last = _worst_window(times, frequency.window_seconds, launches)
        if count <= frequency.max_count:
            continue
        worst = items[first:last + 1]
        r = ctx.recipient(items[0])
        out.append(make_finding("excessive_frequency", sdk_id=_sdk_of(r), host=items[0].observation.host, data_type=t,
                                evidence=_ids(worst),
                                details={"declared": frequency.text, "declared_in": source,
                                         "max_count": frequency.max_count, "window": frequency.window,
                                         "window_size": frequency.window_size, "observed_count": count,
                                         "window_start": worst[0].observation.ts, "window_end": worst[-1].observation.ts,
                                         "total_requests": len(items)}))
    return out


def _zip_names(head: bytes) -> bytes:
    return head if head.startswith(b"PK\x03\x04") else b""


def _content_type(a: Analysis) -> str:
    return (a.observation.response_header("content-type") or "").split(";")[0].strip().lower()


def classify_download(a: Analysis, category: str | None = None) -> str | None:
    """'app_package', 'code' or None for one response (pure; used by compare and by reports)."""
    obs = a.observation
    if obs.host_only or obs.kind != ObservationKind.REQUEST:
        return None
    if obs.status is not None and not 200 <= obs.status < 300:
        return None
    head = obs.response_head or b""
    path = obs.path or ""
    zip_names = _zip_names(head)
    ctype = _content_type(a)
    if head.startswith(b"dex\n") or head.startswith(b"\x7fELF"):
        return "code"
    if zip_names and (b"dex_meta" in zip_names or b"so_meta" in zip_names or b"res_meta" in zip_names):
        return "code"
    if (zip_names or _CODE_PATH.search(path)) and _PATCH_HINT.search(path):
        return "code"
    if _CODE_PATH.search(path) and (zip_names or head[:1] in (b"", b"(", b"!", b"v", b"_", b"/") or
                                    any(m in head for m in _JS_BUNDLE_MARKERS)):
        return "code"
    if any(m in head for m in _JS_BUNDLE_MARKERS[:2]):
        return "code"
    if category == "hot_update" and (zip_names or head):
        return "code"
    if ctype in APK_TYPES:
        return "app_package"
    if zip_names and (b"AndroidManifest.xml" in zip_names or b"classes.dex" in zip_names or
                      (b"Payload/" in zip_names and _PACKAGE_PATH.search(path))):
        return "app_package"
    if _PACKAGE_PATH.search(path) and (zip_names or ctype in ("application/octet-stream", "application/zip")):
        return "app_package"
    return None


def _downloads(ctx: _Context) -> list[Finding]:
    actions = sorted(m.ts for m in ctx.view.markers if m.kind == "user_action")
    out = []
    for a in ctx.analyses:
        what = classify_download(a, ctx.category(a))
        if what is None:
            continue
        obs = a.observation
        r = ctx.recipient(a)
        details: dict[str, object] = {"url": obs.url, "status": obs.status, "content_type": _content_type(a) or None,
                                      "response_size": obs.response_size, "recipient": r.kind,
                                      "magic": (obs.response_head or b"")[:4].hex()}
        if what == "code":
            details["hints"] = sorted({h.lower() for h in _PATCH_HINT.findall(obs.path or "")})
            out.append(make_finding("hot_update_payload", sdk_id=_sdk_of(r), host=[a][0].observation.host, evidence=_ids([a]),
                                    details=details))
            continue
        preceding = [t for t in actions if obs.ts - USER_ACTION_WINDOW <= t <= obs.ts]
        if preceding:
            continue
        details["user_action_window_s"] = USER_ACTION_WINDOW
        out.append(make_finding("silent_apk_download", sdk_id=_sdk_of(r), host=[a][0].observation.host, evidence=_ids([a]),
                                details=details))
    return out


def _beyond_necessary_scope(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None or ctx.declaration.app.category is None:
        return []
    category = find_category(ctx.declaration.app.category)
    if category is None:
        return []
    by_type: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        for t in _identifying(_counted(a)):
            if t not in category.necessary_types:
                by_type[t].append(a)
    claimed = {t for pi in ctx.declaration.pi_list if pi.necessary for t in pi.resolved_types()}
    return [make_finding("beyond_necessary_scope", data_type=t, host=items[0].observation.host, evidence=_ids(items),
                         details={**_span(items), "category": category.id, "category_zh": category.name_zh,
                                  "declared_necessary": t in claimed,
                                  "necessary_zh": list(category.necessary_zh),
                                  "recipients": sorted({ctx.recipient(a).key for a in items})})
            for t, items in by_type.items()]


def _sensitive_pi_not_marked(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None:
        return []
    seen: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        for t in _counted(a):
            seen[t].append(a)
    out = []
    for i, pi in enumerate(ctx.declaration.pi_list):
        if pi.sensitive:
            continue
        for t in sorted(set(pi.resolved_types()) & SENSITIVE_TYPES):
            items = seen.get(t, [])
            out.append(make_finding("sensitive_pi_not_marked", data_type=t, evidence=_ids(items),
                                    details={"entry": pi.type, "entry_index": i, "observed": len(items)}))
    return out


def _immutable_device_id(ctx: _Context) -> list[Finding]:
    groups: dict[tuple[str, str], list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        for t in _counted(a):
            if t in IMMUTABLE_IDS:
                groups[(t, ctx.recipient(a).key)].append(a)
    out = []
    for (t, _key), items in groups.items():
        r = ctx.recipient(items[0])
        keys = sorted({d.key for a in items for d in a.detections if d.type == t})[:20]
        out.append(make_finding("immutable_device_id", sdk_id=_sdk_of(r), host=items[0].observation.host, data_type=t, evidence=_ids(items),
                                details={**_span(items), "recipient": r.kind, "keys": keys}))
    return out


def _opaque_payload(ctx: _Context) -> list[Finding]:
    groups: dict[str, list[Analysis]] = defaultdict(list)
    for a in ctx.analyses:
        if a.opaque and ctx.recipient(a).kind == "sdk":
            groups[ctx.recipient(a).key].append(a)
    return [make_finding("opaque_payload", sdk_id=sdk_id, host=items[0].observation.host, evidence=_ids(items),
                         details={**_span(items), "bytes": sum(a.observation.body_size or 0 for a in items)})
            for sdk_id, items in groups.items()]


def _declared_not_observed(ctx: _Context) -> list[Finding]:
    if ctx.declaration is None:
        return []
    seen_sdks = {r.key for r in (ctx.recipient(a) for a in ctx.analyses) if r.kind == "sdk"}
    out = []
    for i, entry in enumerate(ctx.declaration.sdk_list):
        match = ctx.matches[i]
        partner_seen = any(_host_in(a.observation.host, entry.hosts) for a in ctx.analyses) if entry.hosts else False
        if ctx.entry_ids[i] & seen_sdks or partner_seen:
            continue
        if match.ambiguous and any(s in seen_sdks for s in match.sdk_ids):
            continue
        reason = ("no traffic attributed to this SDK" if match.sdk_id else
                  "no signature matches this entry, so its traffic cannot be recognised" if not match.sdk_ids else
                  "the entry matches several signatures: " + ", ".join(match.sdk_ids))
        out.append(make_finding("declared_not_observed", sdk_id=match.sdk_id,
                                details={"entry": entry.name, "entry_index": i, "what": "sdk", "reason": reason}))
    seen_types = {t for a in ctx.analyses for t in _counted(a)}
    for i, pi in enumerate(ctx.declaration.pi_list):
        types = pi.resolved_types()
        if types and not any(t in seen_types or (t == "precise_location" and "coarse_location" in seen_types)
                             for t in types):
            out.append(make_finding("declared_not_observed", data_type=types[0] if len(types) == 1 else None,
                                    details={"entry": pi.type, "entry_index": i, "what": "data_type",
                                             "data_types": types}))
    return out
