"""Schema of one SDK signature file (sdk_signatures/<vendor>/<id>.yaml). Unknown keys are errors.

A file names one SDK: ``id`` (equal to the file stem), English and Chinese names, the vendor (``vendor.id``
equal to the folder), a category, the names it goes by in published SDK lists (``aliases``), Android
package prefixes, Maven coordinates and iOS module names (so declarations can be matched to it), the
personal-data fields it is known to send (``data_fields``: key as sent -> taxonomy id), references,
provenance (Exodus-derived entries carry ``exodus_id`` and the ODbL licence), its ``network`` rules and
``match`` / ``no_match`` examples.

Network rules (see ``NetworkRule``) are compiled by flowaudit.core.signatures into hash tables; the
module docstring there explains how the most specific rule wins. ``flowaudit signatures validate`` (and
the data tests) additionally check: id/file and vendor/folder names, regexes that are not trivially
broad, no public-suffix or bare shared-platform domains, ``any_host`` rules that carry an SDK-specific
condition, every example attributing as stated against the whole database, and no two SDKs claiming
the same rule unless both list each other in ``overlaps``.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flowaudit.core.taxonomy import TYPE_IDS

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
JAVA_PACKAGE = re.compile(r"^[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)*$")
MAVEN_COORDINATE = re.compile(r"^[\w.\-]+:[\w.\-]+(?::[^\s:]+)?$")


class Category(StrEnum):
    ANALYTICS = "analytics"
    ADVERTISING = "advertising"
    ATTRIBUTION = "attribution"
    PUSH = "push"
    CRASH_REPORTING = "crash_reporting"
    PERFORMANCE_MONITORING = "performance_monitoring"
    RISK_CONTROL = "risk_control"
    LOCATION = "location"
    SOCIAL = "social"
    LOGIN = "login"
    PAYMENT = "payment"
    CUSTOMER_SUPPORT = "customer_support"
    HOT_UPDATE = "hot_update"
    APP_STORE = "app_store"
    CDN = "cdn"
    INFRASTRUCTURE = "infrastructure"
    MESSAGING = "messaging"
    MEDIA = "media"
    AB_TESTING = "ab_testing"
    CONSENT_MANAGEMENT = "consent_management"
    SYSTEM_TELEMETRY = "system_telemetry"
    OTHER = "other"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Vendor(Strict):
    id: str = Field(pattern=SLUG)      # equals the folder the file sits in
    name: str = Field(min_length=2)
    name_zh: str | None = None
    country: str | None = Field(default=None, pattern=r"^[a-z]{2}$")


class NetworkRule(Strict):
    """One way to recognise this SDK's traffic.

    Exactly one host selector: ``domain`` (the name and all its subdomains), ``host`` (that exact name),
    ``ip`` (an address or CIDR for IP-literal endpoints such as HTTPDNS) or ``any_host`` (the SDK runs on
    the customer's own host, so path/query/header conditions are required). Conditions narrow the rule;
    a rule with conditions cannot match a host-only observation (SNI, DNS) unless ``host_only`` is true.

    Conditions: ``path`` is a prefix that ends on a boundary (``/sa`` matches ``/sa``, ``/sa/x``, ``/sa.gif``,
    not ``/save``); ``path_regex`` is searched in the path; ``query_keys`` must all be present; ``query``
    and ``headers`` map a name (headers case-insensitive) to a regex searched in the value; ``methods``
    lists allowed HTTP methods. A bare ``domain`` rule on a shared platform (see
    flowaudit.core.signatures.SHARED_PLATFORM_DOMAINS) is refused unless ``shared_domain`` is true.
    """

    domain: str | None = None
    host: str | None = None
    ip: str | None = None
    any_host: bool = False
    path: str | None = None            # path prefix, e.g. /unify_logs
    path_regex: str | None = None
    query_keys: tuple[str, ...] = ()   # all must be present
    query: dict[str, str] = Field(default_factory=dict)    # key -> regex on the value
    headers: dict[str, str] = Field(default_factory=dict)  # header name -> regex on the value
    methods: tuple[str, ...] = ()
    host_only: bool = False            # conditions are ignored for SNI/DNS sightings of this host
    shared_domain: bool = False        # a bare rule on a shared platform (googleapis.com, qq.com...) is meant
    note: str | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> NetworkRule:
        chosen = [k for k in ("domain", "host", "ip") if getattr(self, k)] + (["any_host"] if self.any_host else [])
        if len(chosen) != 1:
            raise ValueError(f"a network rule needs exactly one of domain, host, ip, any_host (got {chosen or 'none'})")
        if self.any_host and not (self.path or self.path_regex or self.query_keys or self.query or self.headers):
            raise ValueError("an any_host rule needs a path, query or header condition")
        for name in ("domain", "host"):
            value = getattr(self, name)
            if value is not None and (value != value.lower() or value.startswith(".") or "/" in value or "*" in value):
                raise ValueError(f"{name} must be a lower-case host name without wildcard or path: {value!r}")
        if self.ip is not None:
            ipaddress.ip_network(self.ip, strict=False)
        if any(m != m.upper() or not m.isalpha() for m in self.methods):
            raise ValueError(f"methods must be upper-case HTTP method names: {list(self.methods)}")
        for pattern in [self.path_regex, *self.query.values(), *self.headers.values()]:
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        return self

    @property
    def has_conditions(self) -> bool:
        return bool(self.path or self.path_regex or self.query_keys or self.query or self.headers or self.methods)


class Example(Strict):
    url: str
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    kind: Literal["request", "tls_sni", "quic_sni", "dns"] = "request"


def _example(value: object) -> object:
    return {"url": value} if isinstance(value, str) else value


class Reference(Strict):
    url: str | None = None
    note: str | None = None


class Provenance(Strict):
    source: Literal["exodus", "libchecker", "endpoint-evidence", "vendor-hosts", "vendor-docs", "declared-lists", "curated"]
    exodus_id: int | None = None
    license: str | None = None
    note: str | None = None


class Signature(Strict):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=2)
    name_zh: str | None = None
    vendor: Vendor
    category: Category
    also: tuple[Category, ...] = ()
    description: str | None = None
    aliases: tuple[str, ...] = ()
    android_packages: tuple[str, ...] = ()
    maven: tuple[str, ...] = ()
    ios: tuple[str, ...] = ()
    privacy_policy: str | None = None
    network: tuple[NetworkRule, ...] = ()
    overlaps: tuple[str, ...] = ()     # SDK ids that knowingly share a host rule with this one
    data_fields: dict[str, str] = Field(default_factory=dict)   # key name as sent -> taxonomy id
    references: tuple[Reference, ...] = ()
    provenance: tuple[Provenance, ...] = Field(min_length=1)
    match: tuple[Example, ...] = ()
    no_match: tuple[Example, ...] = ()

    @field_validator("match", "no_match", mode="before")
    @classmethod
    def _examples(cls, value: object) -> object:
        if isinstance(value, list):
            return [_example(item) for item in value]
        return value

    @field_validator("android_packages", mode="before")
    @classmethod
    def _packages(cls, value: object) -> object:
        """Package prefixes, written with or without the trailing dot Exodus uses (com.qq.e.)."""
        if not isinstance(value, list | tuple):
            return value
        cleaned = tuple(v.strip().rstrip(".") if isinstance(v, str) else v for v in value)
        bad = [v for v in cleaned if not isinstance(v, str) or not JAVA_PACKAGE.match(v)]
        if bad:
            raise ValueError(f"not Java package names: {bad}")
        return cleaned

    @field_validator("maven")
    @classmethod
    def _maven(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not MAVEN_COORDINATE.match(v)]
        if bad:
            raise ValueError(f"Maven coordinates must be group:artifact[:version]: {bad}")
        return value

    @field_validator("data_fields")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({t for t in value.values() if t not in TYPE_IDS})
        if unknown:
            raise ValueError(f"unknown data-type ids: {', '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _needs_examples(self) -> Signature:
        if self.network and not self.match:
            raise ValueError("a signature with network rules needs at least one match example")
        return self
