"""The request model shared by every source: what left the device, and what flowaudit concluded about it.

Adapters (proxy addon, pcap reader, HAR and flow-file readers) build ``Observation`` objects; the core
attributes them to an SDK (``Attribution``) and finds personal data in them (``Detection``); the comparison
turns a session's observations and a declaration into ``Finding`` objects.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl


class Source(StrEnum):
    PROXY = "proxy"
    HAR = "har"
    MITM = "mitm"
    PCAP = "pcap"


class ObservationKind(StrEnum):
    REQUEST = "request"          # a full HTTP request (method, path, headers, body)
    WEBSOCKET = "websocket"      # one client-to-server WebSocket message
    TLS_SNI = "tls_sni"          # only the server name of an encrypted connection was seen
    QUIC_SNI = "quic_sni"        # server name from a QUIC Initial packet
    DNS = "dns"                  # a DNS query for a host name


HOST_ONLY_KINDS = frozenset({ObservationKind.TLS_SNI, ObservationKind.QUIC_SNI, ObservationKind.DNS})


def _first(headers: list[tuple[str, str]], name: str, default: str | None) -> str | None:
    lname = name.lower()
    return next((value for key, value in headers if key.lower() == lname), default)


@dataclass(slots=True)
class Observation:
    """One request that left the device, or a host-only sighting (SNI, DNS, QUIC)."""

    ts: float
    host: str
    source: Source = Source.HAR
    kind: ObservationKind = ObservationKind.REQUEST
    session: str | None = None
    method: str | None = None
    scheme: str | None = None
    port: int | None = None
    path: str = ""
    query: str = ""
    http_version: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    body_size: int | None = None        # size before any cap was applied
    tls: bool = False
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_head: bytes = b""          # first bytes of the response body (file-type sniffing)
    response_size: int | None = None
    client_ip: str | None = None
    server_ip: str | None = None
    error: str | None = None            # upstream failure, pinning refusal, truncation...
    id: int | None = None

    def __post_init__(self) -> None:
        self.host = (self.host or "").strip().rstrip(".").lower()
        if self.body_size is None:
            self.body_size = len(self.body)

    @property
    def host_only(self) -> bool:
        return self.kind in HOST_ONLY_KINDS

    @property
    def url(self) -> str:
        if self.host_only:
            return self.host
        scheme = self.scheme or ("https" if self.tls else "http")
        default = 443 if scheme in ("https", "wss") else 80
        netloc = self.host if self.port in (None, default) else f"{self.host}:{self.port}"
        if ":" in self.host and not self.host.startswith("["):
            netloc = f"[{self.host}]" if self.port in (None, default) else f"[{self.host}]:{self.port}"
        url = f"{scheme}://{netloc}{self.path or '/'}"
        return f"{url}?{self.query}" if self.query else url

    def header(self, name: str, default: str | None = None) -> str | None:
        return _first(self.headers, name, default)

    def response_header(self, name: str, default: str | None = None) -> str | None:
        return _first(self.response_headers, name, default)

    @property
    def query_params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def cookies(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for key, value in self.headers:
            if key.lower() != "cookie":
                continue
            for part in value.split(";"):
                name, sep, val = part.strip().partition("=")
                if sep:
                    pairs.append((name, val))
        return pairs

    @property
    def body_sha256(self) -> str | None:
        return hashlib.sha256(self.body).hexdigest() if self.body else None


@dataclass(slots=True, frozen=True)
class Attribution:
    """Which SDK a request goes to, and by which rule."""

    sdk_id: str
    name: str
    name_zh: str | None
    vendor: str
    category: str
    rule: str                      # human-readable description of the matching rule
    specificity: int = 0
    ties: tuple[str, ...] = ()     # other SDK ids that matched equally well
    first_party: bool = False


@dataclass(slots=True, frozen=True)
class Detection:
    """One piece of personal data found in a request."""

    type: str                      # taxonomy id, e.g. "imei"
    location: str                  # query, body, header, cookie, path, url
    key: str                       # key path inside the location, e.g. "data.device.imei"
    encoding: str                  # decoding chain, e.g. "body>gzip>json>data.base64>json"
    confidence: float
    reason: str                    # validator, key name, profile match...
    preview: str                   # redacted preview of the value
    value_hash: str                # salted hash of the value (correlates values without storing them)
    raw_value: str | None = None   # only when the session keeps raw evidence


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ["info", "low", "medium", "high", "critical"].index(self.value)


@dataclass(slots=True)
class Marker:
    """A moment the tester marked: consent given or refused, background, free text."""

    ts: float
    kind: str                      # consent, refusal, background, user_action, note
    label: str = ""
    session: str | None = None
    id: int | None = None


@dataclass(slots=True)
class Finding:
    """A departure from the rules or from the app's declaration, with its evidence."""

    kind: str
    severity: Severity
    legal_basis: str
    title_en: str
    title_zh: str
    explanation_en: str
    explanation_zh: str
    sdk_id: str | None = None
    data_type: str | None = None
    host: str | None = None
    evidence: list[int] = field(default_factory=list)   # observation ids
    details: dict[str, object] = field(default_factory=dict)
