"""SDK signature index: compiled once from the signature files, answers "which SDK is this request to?".

How a request is attributed
---------------------------
1. Host candidates come from hash lookups only, never from a loop over patterns: the exact-host table,
   then the domain table for every suffix of the host from the full name up to its registrable domain
   (public-suffix list from tldextract's bundled snapshot, never fetched), or the IP/CIDR tables when the
   host is an IP literal (plus the Host header's name when a request went to an IP literal, as apps
   do after resolving through HTTPDNS; the server address when there is no host at all). ``any_host``
   rules (SDKs that run on the customer's own host) are candidates only when the request carries one
   of their header names, their first path segment, a whole path segment their regex requires, or
   their query key; the few regexes that cannot be keyed are checked on every request.
2. Conditions (path, query, headers, methods) are checked for those few candidates only.
3. The most specific matching rule wins. Specificity bands, strongest first:

   ======  ===================================================================
   6       exact host (or single IP address) with conditions
   5       exact host (or single IP address)
   4       domain suffix (or CIDR) with conditions; longer suffix wins inside the band
   3       ``any_host`` with conditions (an SDK's own protocol fingerprint)
   2       bare domain suffix (or CIDR); longer suffix wins inside the band
   ======  ===================================================================

   An ``any_host`` fingerprint (e.g. an ``X-Umeng-Sdk`` header or Sensors Data's ``/sa?project=``) says
   more about who sent a request than the bare fact that the host belongs to some vendor, so it beats a
   bare domain rule; it loses to rules that name the host and also check the request. One exception:
   when the host also matches a rule of the same vendor (a header every SDK of a vendor sends, on the
   host of one of its products), the host rule wins, because it names the product. Inside a band, more
   conditions win, then the longer literal path. Equal scores from different SDKs are reported in
   ``Attribution.ties``; the winner among them is the SDK id that sorts first, so results are stable.
4. Host-only observations (SNI, DNS, QUIC) have no path or headers: only rules without conditions, or
   with ``host_only: true`` (conditions ignored), can match them, at the bare band of their selector.
5. First party: the audited app's own domains count as a bare domain rule of their length and win ties
   against SDK rules of equal specificity, so a more specific SDK rule (a vendor subdomain under the
   app's domain, any rule with conditions, any ``any_host`` fingerprint) still wins over first party.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

import tldextract

from flowaudit.core.model import Attribution, Observation, ObservationKind
from flowaudit.core.signature_schema import Example, NetworkRule, Signature

# The bundled public-suffix snapshot only: no fetch, no cache directory. ICANN section only, so that
# vendor-owned names under platform suffixes (x.appspot.com) walk up to the platform's domain.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)

BAND_DOMAIN = 2
BAND_ANY_HOST = 3
BAND_DOMAIN_CONDITIONS = 4
BAND_EXACT = 5
BAND_EXACT_CONDITIONS = 6

FIRST_PARTY_ID = "first-party"

# Domains shared by many unrelated products (clouds, CDNs, big platforms hosting many SDKs): a bare
# ``domain:`` rule on one of them would attribute unrelated traffic, so it needs conditions, a narrower
# subdomain, or an explicit ``shared_domain: true``.
SHARED_PLATFORM_DOMAINS: frozenset[str] = frozenset({
    "googleapis.com", "google.com", "gstatic.com", "googleusercontent.com", "appspot.com", "firebaseapp.com",
    "amazonaws.com", "amazon.com", "cloudfront.net", "akamaihd.net", "akamaized.net", "akamai.net",
    "edgekey.net", "edgesuite.net", "fastly.net", "cloudflare.com", "cloudflare.net", "azureedge.net",
    "azurewebsites.net", "windows.net", "microsoft.com", "apple.com", "icloud.com", "facebook.com",
    "fbcdn.net", "github.io", "githubusercontent.com", "herokuapp.com",
    "aliyuncs.com", "aliyun.com", "alicdn.com", "alibaba.com", "taobao.com", "myqcloud.com", "qcloud.com",
    "tencent.com", "tencent-cloud.net", "qq.com", "baidu.com", "bdstatic.com", "bcebos.com",
    "huaweicloud.com", "myhuaweicloud.com", "hicloud.com", "xiaomi.com", "mi.com", "163.com",
})

# Header names every HTTP client sends: an any_host rule keyed only on these says nothing about the SDK.
GENERIC_HEADERS: frozenset[str] = frozenset({
    "accept", "accept-encoding", "accept-language", "authorization", "cache-control", "connection",
    "content-length", "content-type", "cookie", "host", "origin", "pragma", "referer", "user-agent",
    "x-requested-with", "x-forwarded-for", "te", "upgrade",
})

# Query keys too common to identify an SDK on an arbitrary host by themselves.
GENERIC_QUERY_KEYS: frozenset[str] = frozenset({
    "id", "appid", "app_id", "appkey", "app_key", "key", "token", "v", "ver", "version", "uid", "ts", "t",
    "sign", "type", "project", "callback", "format", "lang", "os", "platform", "channel",
})

# Paths an ordinary app hits all the time: a path or regex condition matching most of them is too broad.
_PROBE_PATHS = ("/", "/index.html", "/api/v1/users", "/favicon.ico", "/login", "/static/app.js",
                "/images/a.png", "/v2/config", "/track", "/log")

_BOUNDARY = "/.;"


# --- host helpers (cached: a session talks to few hosts, many times) -----------------------------------

@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The registrable domain (example.com.cn for a.b.example.com.cn); '' for IPs and public suffixes."""
    extracted = _EXTRACT(host)
    # tldextract >= 5.3 names it top_domain_under_public_suffix; earlier 5.x releases registered_domain
    if hasattr(extracted, "top_domain_under_public_suffix"):
        return str(extracted.top_domain_under_public_suffix)
    return str(extracted.registered_domain)


@lru_cache(maxsize=65536)
def public_suffix(host: str) -> str:
    return _EXTRACT(host).suffix


def is_public_suffix(name: str) -> bool:
    """True for names such as com, com.cn, co.uk: not owned by anyone."""
    ext = _EXTRACT(name)
    return bool(ext.suffix) and not ext.domain


@lru_cache(maxsize=65536)
def host_suffixes(host: str) -> tuple[tuple[str, int], ...]:
    """The host and its parent names down to the registrable domain, with their label counts."""
    labels = host.split(".")
    registrable = registrable_domain(host)
    if registrable:
        last = len(labels) - registrable.count(".") - 1
    elif public_suffix(host) == host:
        last = 0                      # the host is itself a public suffix: only the name itself
    else:
        last = max(len(labels) - 2, 0)  # unknown suffix (localhost, corp.internal): stop at two labels
    return tuple((".".join(labels[i:]), len(labels) - i) for i in range(0, last + 1))


@lru_cache(maxsize=16384)
def parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not host or not (host[-1].isdigit() or ":" in host):
        return None
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def normalize_host(host: str) -> str:
    """Lower case, no trailing dot, no brackets around IPv6, no port (``example.com:8443``)."""
    host = host.strip().lower()
    if host.startswith("[") and "]" in host:
        return host[1:host.index("]")]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


# --- compiled rules ------------------------------------------------------------------------------------

def _path_first_segment(path: str) -> str:
    """'/sa.gif?x' -> 'sa'; the key under which any_host path rules are filed."""
    end = len(path)
    for i in range(1, len(path)):
        if path[i] in "/.;?":
            end = i
            break
    return path[1:end] if path.startswith("/") else ""


_REGEX_LITERAL_SEGMENT = re.compile(r"^\^/([A-Za-z0-9_~-]+)(?:/|\\\.|\$|;)")


def regex_first_segment(pattern: str) -> str:
    """'^/udid/(m1|c1)$' -> 'udid': the literal first path segment an anchored regex requires, or ''."""
    found = _REGEX_LITERAL_SEGMENT.match(pattern)
    return found.group(1) if found else ""


_SEGMENT_IDIOM = re.compile(
    r"(?:\^/|/|\((?:\?:)?\^\|/\))"          # left boundary: ^/  /  (^|/)  (?:^|/)
    r"([A-Za-z0-9_~-]+)"
    r"(?=(?:/|\$|\((?:\?:)?/\|\$\))(?![?*{]))")  # right boundary: /  $  (/|$)  (?:/|$), not optional


def _depth_zero_positions(pattern: str) -> tuple[set[int], bool]:
    """Positions of the pattern outside any group or character class, and whether a top-level '|'
    exists (then no literal is required)."""
    depth, in_class, escaped = 0, False, False
    positions: set[int] = set()
    top_alternation = False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            continue
        if in_class:
            in_class = ch != "]"
            continue
        if ch == "[":
            in_class = True
        elif ch == "(":
            if depth == 0:
                positions.add(i)
            depth += 1
            continue
        elif ch == ")":
            depth -= 1
            continue
        elif ch == "|" and depth == 0:
            top_alternation = True
        if depth == 0:
            positions.add(i)
    return positions, top_alternation


def regex_required_segment(pattern: str) -> str:
    """A whole path segment any match of the regex must contain, as written in the common idioms
    ('(^|/)mbeacon(/|$)', '/openrtb2/auction$'), or ''."""
    positions, top_alternation = _depth_zero_positions(pattern)
    if top_alternation:
        return ""
    for found in _SEGMENT_IDIOM.finditer(pattern):
        if found.start() in positions and found.start(1) in positions:
            return found.group(1)
    return ""


def _keyable(pattern: re.Pattern[str]) -> bool:
    """Literal keys are compared case-sensitively: a case-insensitive regex cannot be keyed."""
    return not pattern.flags & re.IGNORECASE


def path_prefix_matches(prefix: str, path: str) -> bool:
    if not path.startswith(prefix):
        return False
    return len(path) == len(prefix) or prefix.endswith("/") or path[len(prefix)] in _BOUNDARY


class _RequestView:
    """Lazily parsed parts of one observation, shared by the candidates checked for it."""

    __slots__ = ("obs", "path", "_headers", "_query")

    def __init__(self, obs: Observation) -> None:
        self.obs = obs
        path = obs.path or "/"
        if "?" in path:
            path = path.split("?", 1)[0]
        self.path = path
        self._headers: dict[str, list[str]] | None = None
        self._query: dict[str, list[str]] | None = None

    @property
    def headers(self) -> dict[str, list[str]]:
        if self._headers is None:
            headers: dict[str, list[str]] = {}
            for key, value in self.obs.headers:
                headers.setdefault(key.lower(), []).append(value)
            self._headers = headers
        return self._headers

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            query: dict[str, list[str]] = {}
            raw = self.obs.query
            if not raw and "?" in (self.obs.path or ""):
                raw = self.obs.path.split("?", 1)[1]
            for key, value in parse_qsl(raw, keep_blank_values=True):
                query.setdefault(key, []).append(value)
            self._query = query
        return self._query


@dataclass(slots=True, eq=False)
class CompiledRule:
    sdk_id: str
    position: int                   # index of the rule in the signature's ``network`` list
    kind: str                       # host, domain, ip, any_host
    selector: str                   # host name, domain, network, or "*"
    path: str | None
    path_re: re.Pattern[str] | None
    query_keys: tuple[str, ...]
    query: tuple[tuple[str, re.Pattern[str]], ...]
    headers: tuple[tuple[str, re.Pattern[str]], ...]
    methods: frozenset[str]
    host_only: bool
    n_conditions: int
    specificity: int                # when the request's conditions are checked
    bare_specificity: int           # for host-only sightings (conditions not checkable)
    description: str

    @property
    def conditional(self) -> bool:
        return self.n_conditions > 0

    def matches(self, view: _RequestView) -> bool:
        if self.methods and (view.obs.method or "GET").upper() not in self.methods:
            return False
        if self.path is not None and not path_prefix_matches(self.path, view.path):
            return False
        if self.path_re is not None and self.path_re.search(view.path) is None:
            return False
        if self.headers:
            headers = view.headers
            for name, pattern in self.headers:
                values = headers.get(name)
                if not values or not any(pattern.search(v) for v in values):
                    return False
        if self.query_keys or self.query:
            query = view.query
            for key in self.query_keys:
                if key not in query:
                    return False
            for key, pattern in self.query:
                values = query.get(key)
                if values is None or not any(pattern.search(v) for v in values):
                    return False
        return True


def _score(band: int, detail: int, n_conditions: int, path_length: int = 0) -> int:
    """Band first, then the host detail (domain labels or CIDR prefix length), then the number of
    conditions, then the length of the literal path the rule requires (/api/v1/log beats /api)."""
    return (band * 1_000_000_000 + min(detail, 999) * 1_000_000 + min(n_conditions, 9) * 100_000
            + min(path_length, 99_999))


def _literal_path_length(rule: NetworkRule) -> int:
    if rule.path:
        return len(rule.path)
    if rule.path_regex:
        segment = regex_first_segment(rule.path_regex)
        return len(segment) + 1 if segment else 0
    return 0


def _describe(rule: NetworkRule) -> str:
    parts: list[str] = []
    if rule.any_host:
        parts.append("any host")
    for name in ("host", "domain", "ip"):
        value = getattr(rule, name)
        if value:
            parts.append(f"{name} {value}")
    if rule.path:
        parts.append(f"path {rule.path}")
    if rule.path_regex:
        parts.append(f"path ~ {rule.path_regex}")
    if rule.query_keys:
        parts.append("query keys " + ",".join(rule.query_keys))
    parts.extend(f"query {k} ~ {v}" for k, v in rule.query.items())
    parts.extend(f"header {k} ~ {v}" for k, v in rule.headers.items())
    if rule.methods:
        parts.append("method " + "|".join(rule.methods))
    return " + ".join(parts)


def compile_rule(sdk_id: str, position: int, rule: NetworkRule) -> CompiledRule:
    n_conditions = (bool(rule.path) + bool(rule.path_regex) + len(rule.query_keys) + len(rule.query)
                    + len(rule.headers) + bool(rule.methods))
    path_length = _literal_path_length(rule)
    if rule.any_host:
        kind, selector = "any_host", "*"
        specificity = _score(BAND_ANY_HOST, 0, n_conditions, path_length)
        bare = 0
    elif rule.host:
        kind, selector = "host", rule.host
        specificity = _score(BAND_EXACT_CONDITIONS if n_conditions else BAND_EXACT, rule.host.count(".") + 1,
                             n_conditions, path_length)
        bare = _score(BAND_EXACT, rule.host.count(".") + 1, 0)
    elif rule.domain:
        kind, selector = "domain", rule.domain
        labels = rule.domain.count(".") + 1
        specificity = _score(BAND_DOMAIN_CONDITIONS if n_conditions else BAND_DOMAIN, labels, n_conditions,
                             path_length)
        bare = _score(BAND_DOMAIN, labels, 0)
    else:
        network = ipaddress.ip_network(str(rule.ip), strict=False)
        kind, selector = "ip", str(network)
        single = network.prefixlen == network.max_prefixlen
        if single:
            band = BAND_EXACT_CONDITIONS if n_conditions else BAND_EXACT
            bare_band = BAND_EXACT
        else:
            band = BAND_DOMAIN_CONDITIONS if n_conditions else BAND_DOMAIN
            bare_band = BAND_DOMAIN
        specificity = _score(band, network.prefixlen, n_conditions, path_length)
        bare = _score(bare_band, network.prefixlen, 0)
    return CompiledRule(
        sdk_id=sdk_id, position=position, kind=kind, selector=selector,
        path=rule.path, path_re=re.compile(rule.path_regex) if rule.path_regex else None,
        query_keys=tuple(rule.query_keys),
        query=tuple((k, re.compile(v)) for k, v in rule.query.items()),
        headers=tuple((k.lower(), re.compile(v)) for k, v in rule.headers.items()),
        methods=frozenset(rule.methods), host_only=rule.host_only, n_conditions=n_conditions,
        specificity=specificity, bare_specificity=bare, description=_describe(rule),
    )


# --- the index -----------------------------------------------------------------------------------------

_HOST_CACHE_LIMIT = 50000


class SignatureIndex:
    """All network rules of all signatures, compiled once into hash tables."""

    def __init__(self, signatures: Iterable[Signature]) -> None:
        self.signatures: dict[str, Signature] = {}
        self.rules: list[CompiledRule] = []
        self._exact: dict[str, list[CompiledRule]] = {}
        self._domain: dict[str, list[CompiledRule]] = {}
        self._ip_exact: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, list[CompiledRule]] = {}
        # (ip version, prefix length) -> network address as int -> rules; longest prefixes first
        self._cidr: dict[tuple[int, int], dict[int, list[CompiledRule]]] = {}
        self._any_by_header: dict[str, list[CompiledRule]] = {}
        self._any_by_segment: dict[str, list[CompiledRule]] = {}       # first path segment
        self._any_by_inner_segment: dict[str, list[CompiledRule]] = {}  # any whole path segment
        self._any_by_query: dict[str, list[CompiledRule]] = {}
        self._any_other: list[CompiledRule] = []
        self._host_cache: dict[str, tuple[CompiledRule, ...]] = {}
        self._vendor: dict[str, str] = {}
        self._attr_cache: dict[tuple[int, int, tuple[str, ...]], Attribution] = {}
        self._first_party_cache: dict[tuple[str, ...], frozenset[str]] = {}
        for sig in signatures:
            if sig.id in self.signatures:
                raise ValueError(f"duplicate signature id {sig.id!r}")
            self.signatures[sig.id] = sig
            self._vendor[sig.id] = sig.vendor.id
            for position, rule in enumerate(sig.network):
                self._add(compile_rule(sig.id, position, rule))
        self._cidr = dict(sorted(self._cidr.items(), key=lambda item: -item[0][1]))

    def _add(self, rule: CompiledRule) -> None:
        self.rules.append(rule)
        if rule.kind == "host":
            self._exact.setdefault(rule.selector, []).append(rule)
        elif rule.kind == "domain":
            self._domain.setdefault(rule.selector, []).append(rule)
        elif rule.kind == "ip":
            network = ipaddress.ip_network(rule.selector)
            if network.prefixlen == network.max_prefixlen:
                self._ip_exact.setdefault(network.network_address, []).append(rule)
            else:
                table = self._cidr.setdefault((network.version, network.prefixlen), {})
                table.setdefault(int(network.network_address), []).append(rule)
        elif rule.headers:
            self._any_by_header.setdefault(rule.headers[0][0], []).append(rule)
        elif rule.path and _path_first_segment(rule.path):
            self._any_by_segment.setdefault(_path_first_segment(rule.path), []).append(rule)
        elif rule.path_re is not None and _keyable(rule.path_re) and regex_first_segment(rule.path_re.pattern):
            self._any_by_segment.setdefault(regex_first_segment(rule.path_re.pattern), []).append(rule)
        elif rule.path_re is not None and _keyable(rule.path_re) and regex_required_segment(rule.path_re.pattern):
            self._any_by_inner_segment.setdefault(regex_required_segment(rule.path_re.pattern), []).append(rule)
        elif rule.query_keys or rule.query:
            key = rule.query_keys[0] if rule.query_keys else rule.query[0][0]
            self._any_by_query.setdefault(key, []).append(rule)
        else:
            self._any_other.append(rule)

    def __len__(self) -> int:
        return len(self.signatures)

    def get(self, sdk_id: str) -> Signature | None:
        return self.signatures.get(sdk_id)

    # -- candidates --

    def host_candidates(self, host: str) -> tuple[CompiledRule, ...]:
        """Rules whose host selector covers this host (before any condition is checked)."""
        cached = self._host_cache.get(host)
        if cached is not None:
            return cached
        found: list[CompiledRule] = []
        ip = parse_ip(host)
        if ip is not None:
            found.extend(self._ip_exact.get(ip, ()))
            value = int(ip)
            for (version, prefixlen), table in self._cidr.items():
                if version != ip.version:
                    continue
                shift = ip.max_prefixlen - prefixlen
                rules = table.get((value >> shift) << shift)
                if rules:
                    found.extend(rules)
        elif host:
            found.extend(self._exact.get(host, ()))
            domain_table = self._domain
            for name, _labels in host_suffixes(host):
                rules = domain_table.get(name)
                if rules:
                    found.extend(rules)
        result = tuple(found)
        if len(self._host_cache) >= _HOST_CACHE_LIMIT:
            self._host_cache.clear()
        self._host_cache[host] = result
        return result

    def _any_host_candidates(self, view: _RequestView) -> list[CompiledRule]:
        found: list[CompiledRule] = []
        if self._any_by_header:
            table = self._any_by_header
            for name in {key.lower() for key, _value in view.obs.headers} & table.keys():
                found.extend(table[name])
        if self._any_by_segment:
            rules = self._any_by_segment.get(_path_first_segment(view.path))
            if rules:
                found.extend(rules)
        if self._any_by_inner_segment:
            table = self._any_by_inner_segment
            for segment in set(view.path.split("/")):
                rules = table.get(segment)
                if rules:
                    found.extend(rules)
        if self._any_by_query and (view.obs.query or "?" in (view.obs.path or "")):
            for key in view.query:
                rules = self._any_by_query.get(key)
                if rules:
                    found.extend(rules)
        found.extend(self._any_other)
        return found

    # -- attribution --

    @staticmethod
    def hosts_of(obs: Observation) -> tuple[str, ...]:
        """The names to look up: the observation's host (or, without one, the server address), plus the
        Host header's name when the request went to an IP literal (apps that resolve through HTTPDNS
        connect to the address and name the real host in the header)."""
        host = obs.host
        if host.startswith("[") or host.endswith(".") or ":" in host:
            host = normalize_host(host)
        if not host and obs.server_ip:
            host = normalize_host(obs.server_ip)
        if obs.host_only or not host or parse_ip(host) is None:
            return (host,)
        named = obs.header("host")
        if named:
            named = normalize_host(named)
            if named and named != host and parse_ip(named) is None:
                return (host, named)
        return (host,)

    def matches(self, obs: Observation, hosts: tuple[str, ...] | None = None) -> list[tuple[int, CompiledRule]]:
        """Every rule that matches the observation, with the specificity it matched at."""
        if hosts is None:
            hosts = self.hosts_of(obs)
        candidates = self.host_candidates(hosts[0])
        if len(hosts) > 1:
            candidates = candidates + self.host_candidates(hosts[1])
        result: list[tuple[int, CompiledRule]] = []
        if obs.host_only:
            for rule in candidates:
                if rule.host_only or not rule.n_conditions:
                    result.append((rule.bare_specificity, rule))
            return result
        view = _RequestView(obs)
        for rule in candidates:
            if not rule.n_conditions or rule.matches(view):
                result.append((rule.specificity, rule))
        for rule in self._any_host_candidates(view):
            if rule.matches(view):
                result.append((rule.specificity, rule))
        return result

    def _first_party_domains(self, first_party: Iterable[str] | str) -> frozenset[str]:
        if isinstance(first_party, str):
            first_party = (first_party,)
        key = first_party if isinstance(first_party, tuple) else tuple(first_party)
        domains = self._first_party_cache.get(key)
        if domains is None:
            domains = frozenset(d for d in map(first_party_domain, key) if d)
            if len(self._first_party_cache) > 256:
                self._first_party_cache.clear()
            self._first_party_cache[key] = domains
        return domains

    @staticmethod
    def _first_party_match(host: str, domains: frozenset[str]) -> str | None:
        if host in domains:
            return host
        dot = host.find(".")
        while dot != -1:
            parent = host[dot + 1:]
            if parent in domains:
                return parent
            dot = host.find(".", dot + 1)
        return None

    def attribute(self, obs: Observation, first_party: Iterable[str] = ()) -> Attribution | None:
        """The SDK this observation goes to (or first party), or None for an unknown recipient.

        ``first_party``: the audited app's own domains (each covers its subdomains); see
        ``first_party_candidates`` for suggestions derived from a package name.
        """
        hosts = self.hosts_of(obs)
        matched = self.matches(obs, hosts)
        best_score, best = self._best(matched)
        if best and best[0].kind == "any_host" and len(matched) > len(best):
            # A vendor's shared fingerprint (a header all its SDKs send) names the vendor; if the host
            # names one of that vendor's products, the host rule is the better answer.
            vendors = {self._vendor[r.sdk_id] for r in best}
            same_vendor = [(score, r) for score, r in matched if r.kind != "any_host" and self._vendor[r.sdk_id] in vendors]
            if same_vendor:
                best_score, best = self._best(same_vendor)
        if first_party:
            domains = self._first_party_domains(first_party)
            if domains:
                domain = None
                for host in hosts:
                    domain = domain or self._first_party_match(host, domains)
                if domain is not None:
                    fp_score = _score(BAND_DOMAIN, domain.count(".") + 1, 0)
                    if fp_score >= best_score:
                        return Attribution(sdk_id=FIRST_PARTY_ID, name="First party", name_zh="第一方",
                                           vendor=domain, category="first_party",
                                           rule=f"first party: {domain}", specificity=fp_score,
                                           first_party=True)
        if not best:
            return None
        ties: tuple[str, ...] = ()
        if len(best) == 1:
            winner = best[0]
        else:
            best.sort(key=lambda r: (r.sdk_id, r.position))
            winner = best[0]
            ties = tuple(sorted({r.sdk_id for r in best} - {winner.sdk_id}))
        return self._attribution(winner, best_score, ties)

    @staticmethod
    def _best(matched: list[tuple[int, CompiledRule]]) -> tuple[int, list[CompiledRule]]:
        best_score = -1
        best: list[CompiledRule] = []
        for score, rule in matched:
            if score > best_score:
                best_score, best = score, [rule]
            elif score == best_score:
                best.append(rule)
        return best_score, best

    def _attribution(self, rule: CompiledRule, score: int, ties: tuple[str, ...]) -> Attribution:
        key = (id(rule), score, ties)
        cached = self._attr_cache.get(key)
        if cached is not None:
            return cached
        sig = self.signatures[rule.sdk_id]
        attribution = Attribution(
            sdk_id=sig.id, name=sig.name, name_zh=sig.name_zh, vendor=sig.vendor.name,
            category=sig.category.value, rule=f"{sig.id}#{rule.position}: {rule.description}",
            specificity=score, ties=ties,
        )
        if len(self._attr_cache) > 10000:
            self._attr_cache.clear()
        self._attr_cache[key] = attribution
        return attribution

    def stats(self) -> dict[str, int]:
        counts: dict[str, int] = {"host": 0, "domain": 0, "ip": 0, "any_host": 0, "conditional": 0,
                                  "host_only": 0}
        for rule in self.rules:
            counts[rule.kind] += 1
            counts["conditional"] += rule.conditional
            counts["host_only"] += rule.host_only
        return counts


# --- examples, lint and collisions (shared by `flowaudit signatures validate` and the data tests) -------

_KINDS = {"request": ObservationKind.REQUEST, "tls_sni": ObservationKind.TLS_SNI,
          "quic_sni": ObservationKind.QUIC_SNI, "dns": ObservationKind.DNS}


def example_observation(example: Example) -> Observation:
    """The observation a signature's match / no_match example stands for."""
    kind = _KINDS[example.kind]
    url = example.url.strip()
    if "://" not in url:
        url = ("https://" if kind is ObservationKind.REQUEST else "sni://") + url
    parts = urlsplit(url)
    host = parts.hostname or ""
    scheme = parts.scheme if kind is ObservationKind.REQUEST else None
    return Observation(ts=0.0, host=host, kind=kind, method=example.method.upper(), scheme=scheme,
                       port=parts.port, path=parts.path or "/", query=parts.query,
                       headers=list(example.headers.items()), tls=scheme == "https")


def regex_too_broad(pattern: str, probes: Sequence[str] = _PROBE_PATHS) -> bool:
    """A pattern that matches the empty string or most ordinary values says nothing."""
    compiled = re.compile(pattern)
    if compiled.search("") is not None and compiled.fullmatch("") is not None:
        return True
    hits = sum(1 for probe in probes if compiled.search(probe))
    return hits > len(probes) // 2


def lint_rule(rule: NetworkRule) -> list[str]:
    """Problems that make a rule attribute traffic it should not."""
    problems: list[str] = []
    name = rule.domain or rule.host
    if name:
        if "." not in name or is_public_suffix(name):
            problems.append(f"{'domain' if rule.domain else 'host'} {name!r} is a public suffix, not a vendor domain")
        elif not public_suffix(name):
            problems.append(f"{name!r} has no public suffix")
    if rule.ip:
        network = ipaddress.ip_network(rule.ip, strict=False)
        if network.prefixlen < (16 if network.version == 4 else 32):
            problems.append(f"ip {rule.ip}: network too large (/{network.prefixlen})")
        if network.is_private or network.is_loopback or network.is_link_local or network.is_unspecified:
            problems.append(f"ip {rule.ip}: private, loopback or link-local addresses identify no vendor")
    if rule.domain and rule.domain in SHARED_PLATFORM_DOMAINS and not rule.shared_domain:
        if not rule.has_conditions:
            problems.append(f"bare domain rule on shared platform {rule.domain!r}: narrow it to a subdomain or host, "
                            "add path/header conditions, or set shared_domain: true if the whole domain really is this SDK's")
        elif rule.host_only:
            problems.append(f"host_only rule on shared platform {rule.domain!r} would attribute every SNI of it; "
                            "drop host_only or set shared_domain: true")
    if rule.shared_domain and not (rule.domain and rule.domain in SHARED_PLATFORM_DOMAINS):
        problems.append("shared_domain: true is only meaningful on a domain rule for a listed shared platform")
    if rule.path is not None and (not rule.path.startswith("/") or rule.path == "/"):
        problems.append(f"path {rule.path!r} must start with '/' and name more than the root")
    if rule.path_regex and regex_too_broad(rule.path_regex):
        problems.append(f"path_regex {rule.path_regex!r} is trivially broad")
    for key, pattern in rule.query.items():
        if rule.any_host and regex_too_broad(pattern, ("", "1", "abc", "default", "true")) and key in GENERIC_QUERY_KEYS \
                and not (rule.path or rule.path_regex or rule.headers):
            problems.append(f"query {key}: {pattern!r} on any host is trivially broad")
    if rule.any_host:
        everyday_values = ("", "okhttp/4.9.0", "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7)", "application/json",
                           "*/*", "gzip", "keep-alive", "no-cache")
        specific_headers = [h for h, v in rule.headers.items()
                            if h.lower() not in GENERIC_HEADERS or not regex_too_broad(v, everyday_values)]
        path_cond = bool(rule.path) or bool(rule.path_regex)
        query_names = set(rule.query_keys) | set(rule.query)
        specific_query = bool(query_names - GENERIC_QUERY_KEYS)
        if not path_cond and not specific_headers and not specific_query:
            problems.append("any_host rule needs a path, an SDK-specific header or an SDK-specific query key "
                            f"(generic ones alone match every app: {sorted(set(rule.headers) | query_names)})")
        if rule.host_only:
            problems.append("host_only makes no sense on an any_host rule (a host-only sighting has no conditions)")
    return problems


def lint_signature(sig: Signature) -> list[str]:
    problems: list[str] = []
    for position, rule in enumerate(sig.network):
        problems.extend(f"network[{position}]: {p}" for p in lint_rule(rule))
    for prov in sig.provenance:
        if prov.source == "exodus" and prov.exodus_id is None:
            problems.append("provenance source exodus needs exodus_id")
    if sig.id in sig.overlaps:
        problems.append("overlaps lists the signature itself")
    urls = [("privacy_policy", sig.privacy_policy)] + [("references", r.url) for r in sig.references]
    problems.extend(f"{field} is not an http(s) URL: {url!r}" for field, url in urls
                    if url is not None and not url.startswith(("https://", "http://")))
    return problems


def check_examples(sig: Signature, index: SignatureIndex) -> list[str]:
    """Every ``match`` example attributes to this SDK (or ties with it on a declared overlap) and no
    ``no_match`` example does, with the whole database loaded."""
    problems: list[str] = []
    for example in sig.match:
        attribution = index.attribute(example_observation(example))
        if attribution is None:
            problems.append(f"match example {example.url!r} ({example.kind}) is not attributed")
        elif attribution.sdk_id != sig.id:
            if sig.id in attribution.ties and attribution.sdk_id in sig.overlaps:
                continue
            problems.append(f"match example {example.url!r} ({example.kind}) attributes to {attribution.sdk_id} "
                            f"by {attribution.rule!r}")
    for example in sig.no_match:
        attribution = index.attribute(example_observation(example))
        if attribution is not None and (attribution.sdk_id == sig.id or sig.id in attribution.ties):
            problems.append(f"no_match example {example.url!r} ({example.kind}) attributes to {sig.id} "
                            f"by {attribution.rule!r}")
    return problems


def rule_key(rule: NetworkRule) -> tuple[object, ...]:
    """Two rules with the same key claim exactly the same traffic."""
    selector = ("any_host", "*") if rule.any_host else \
        ("host", rule.host) if rule.host else \
        ("domain", rule.domain) if rule.domain else \
        ("ip", str(ipaddress.ip_network(str(rule.ip), strict=False)))
    return (*selector, rule.path, rule.path_regex, tuple(sorted(rule.query_keys)), tuple(sorted(rule.query.items())),
            tuple(sorted((k.lower(), v) for k, v in rule.headers.items())), tuple(sorted(rule.methods)))


@dataclass(frozen=True, slots=True)
class Collision:
    first: str
    second: str
    rule: str


def find_collisions(signatures: Iterable[Signature]) -> list[Collision]:
    """Pairs of SDKs claiming the same rule without both declaring the overlap."""
    by_key: dict[tuple[object, ...], list[tuple[Signature, NetworkRule]]] = {}
    for sig in signatures:
        seen: set[tuple[object, ...]] = set()
        for rule in sig.network:
            key = rule_key(rule)
            if key in seen:
                continue
            seen.add(key)
            by_key.setdefault(key, []).append((sig, rule))
    collisions: list[Collision] = []
    for owners in by_key.values():
        for i, (sig_a, rule) in enumerate(owners):
            for sig_b, _ in owners[i + 1:]:
                if sig_b.id in sig_a.overlaps and sig_a.id in sig_b.overlaps:
                    continue
                first, second = sorted((sig_a.id, sig_b.id))
                collisions.append(Collision(first, second, _describe(rule)))
    return collisions


# --- first party ---------------------------------------------------------------------------------------

def first_party_domain(entry: str) -> str:
    """One declared first-party entry as a domain: URLs give their host, '*.example.com' and
    'www.example.com' give example.com. Public suffixes (com, com.cn) are refused: they would make
    every host first party."""
    if not isinstance(entry, str):
        return ""
    entry = entry.strip()
    if "://" in entry:
        entry = urlsplit(entry).hostname or ""
    domain = normalize_host(entry).lstrip("*").lstrip(".")
    if not domain or parse_ip(domain) is not None:
        return domain
    if is_public_suffix(domain):
        return ""
    if domain.startswith("www.") and registrable_domain(domain[4:]) == domain[4:]:
        return domain[4:]
    return domain


def first_party_candidates(package: str) -> list[str]:
    """Domains an Android package name or iOS bundle id *suggests* for the app's first party.

    com.example.app -> ["example.com"]; cn.com.bank.mobile -> ["bank.com.cn"]. Package names are not
    proof of domain ownership (anyone may call a package com.google.foo, and many apps use a brand unrelated
    to their domain), so callers must show these as suggestions for the tester to confirm, never apply them
    silently. Shared platforms (qq.com, github.io...) are never suggested.
    """
    labels = [part for part in package.strip().lower().split(".") if part]
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9-]+", part) for part in labels):
        return []
    candidates: list[str] = []
    for size in (2, 3):
        if len(labels) < size:
            break
        name = ".".join(reversed(labels[:size]))
        if registrable_domain(name) == name and name not in SHARED_PLATFORM_DOMAINS and name not in candidates:
            candidates.append(name)
            break
    return candidates
