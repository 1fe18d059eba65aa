"""The attribution engine (flowaudit/core/signatures.py) on signatures built in the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowaudit.core.model import Observation, ObservationKind
from flowaudit.core.signature_schema import Example, NetworkRule, Signature
from flowaudit.core.signatures import (
    FIRST_PARTY_ID,
    SignatureIndex,
    check_examples,
    example_observation,
    find_collisions,
    first_party_candidates,
    host_suffixes,
    lint_rule,
    lint_signature,
    regex_too_broad,
    registrable_domain,
)


def sig(sdk_id: str, *rules: dict[str, Any], **extra: Any) -> Signature:
    data: dict[str, Any] = {
        "id": sdk_id, "name": sdk_id.title(), "name_zh": None,
        "vendor": {"id": sdk_id.split("-")[0], "name": f"{sdk_id} Ltd", "country": "cn"},
        "category": extra.pop("category", "analytics"),
        "network": list(rules), "provenance": [{"source": "curated"}],
        "match": extra.pop("match", ["https://placeholder.invalid/"]) if rules else [],
    }
    data.update(extra)
    return Signature.model_validate(data)


def req(url: str, method: str = "GET", headers: dict[str, str] | None = None, kind: str = "request") -> Observation:
    return example_observation(Example(url=url, method=method, headers=headers or {}, kind=kind))  # type: ignore[arg-type]


def sdk_of(index: SignatureIndex, obs: Observation, first_party: tuple[str, ...] = ()) -> str | None:
    attribution = index.attribute(obs, first_party)
    return attribution.sdk_id if attribution else None


@pytest.fixture(scope="module")
def index() -> SignatureIndex:
    return SignatureIndex([
        sig("acme-analytics", {"domain": "acme.com"}),
        sig("acme-push", {"domain": "push.acme.com"}),
        sig("acme-crash", {"host": "crash.push.acme.com"}),
        sig("acme-ads", {"domain": "acme.com", "path": "/ads"}),
        sig("acme-upload", {"host": "log.acme.com", "path": "/upload", "methods": ["POST"]}),
        sig("sensors-analytics", {"any_host": True, "path": "/sa", "query_keys": ["project"]}),
        sig("umeng-analytics", {"any_host": True, "headers": {"X-Umeng-Sdk": ".+"}}),
        sig("dnspod-httpdns", {"ip": "119.29.29.0/24"}, {"ip": "2402:4e00::/32"}),
        sig("aliyun-httpdns", {"ip": "203.107.1.1"}),
        sig("tongdun-fraud", {"domain": "tongdun.net", "path": "/android", "host_only": True}),
        sig("shumei-risk", {"domain": "fengkongcloud.com", "headers": {"X-Sm-Sdk": "^v"}}),
        sig("twin-a", {"domain": "twin.cn"}, overlaps=["twin-b"]),
        sig("twin-b", {"domain": "twin.cn"}, overlaps=["twin-a"]),
        sig("uk-tracker", {"domain": "tracker.co.uk"}),
        sig("query-sdk", {"domain": "qsdk.io", "query": {"ak": "^[0-9a-f]{8}$"}}),
    ])


# --- host lookup ---------------------------------------------------------------------------------------

def test_subdomains_of_a_vendor_domain_match_unseen_hosts(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://acme.com/")) == "acme-analytics"
    assert sdk_of(index, req("https://never.seen.before.acme.com/x")) == "acme-analytics"
    assert sdk_of(index, req("https://a.b.c.d.e.f.tracker.co.uk/")) == "uk-tracker"


def test_look_alike_hosts_do_not_match(index: SignatureIndex) -> None:
    for url in ("https://notacme.com/", "https://acme.com.evil.org/", "https://acme.co/", "https://acmecom/",
                "https://xacme.com/ads", "https://co.uk/", "https://tracker.co.uk.example/"):
        assert sdk_of(index, req(url)) is None, url


def test_longer_suffix_beats_shorter_and_exact_host_beats_both(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://eu.push.acme.com/reg")) == "acme-push"
    assert sdk_of(index, req("https://crash.push.acme.com/")) == "acme-crash"
    assert sdk_of(index, req("https://x.crash.push.acme.com/")) == "acme-push"   # host rules are exact


def test_domain_rule_with_conditions_beats_bare_domain(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://cdn.acme.com/ads/v1")) == "acme-ads"
    assert sdk_of(index, req("https://cdn.acme.com/adsense")) == "acme-analytics"   # prefix ends on a boundary
    # conditions beat a bare rule of a longer domain too: the request proves more than the host does
    assert sdk_of(index, req("https://eu.push.acme.com/ads")) == "acme-ads"


def test_longer_path_prefix_wins_inside_a_band() -> None:
    index = SignatureIndex([sig("acme-api", {"domain": "acme.com", "path": "/api"}),
                            sig("acme-log", {"domain": "acme.com", "path": "/api/v1/log"})])
    assert sdk_of(index, req("https://x.acme.com/api/v1/log")) == "acme-log"
    assert sdk_of(index, req("https://x.acme.com/api/v2/user")) == "acme-api"


def test_exact_host_with_conditions_and_method(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://log.acme.com/upload", "POST")) == "acme-upload"
    assert sdk_of(index, req("https://log.acme.com/upload", "GET")) == "acme-analytics"
    assert sdk_of(index, req("https://log.acme.com/uploads", "POST")) == "acme-analytics"


def test_host_normalisation() -> None:
    index = SignatureIndex([sig("acme-analytics", {"domain": "acme.com"}), sig("v6-dns", {"ip": "2001:4860::/32"})])
    assert sdk_of(index, Observation(ts=0, host="API.ACME.COM.")) == "acme-analytics"
    assert sdk_of(index, Observation(ts=0, host="[2001:4860::8888]")) == "v6-dns"
    assert sdk_of(index, Observation(ts=0, host="")) is None
    assert sdk_of(index, Observation(ts=0, host="localhost")) is None
    assert sdk_of(index, Observation(ts=0, host="com.cn")) is None
    assert sdk_of(index, Observation(ts=0, host="api.acme.com:8443")) == "acme-analytics"
    assert sdk_of(index, Observation(ts=0, host="2001:4860::1")) == "v6-dns"


def test_host_suffix_walk_stops_at_the_registrable_domain() -> None:
    assert [name for name, _ in host_suffixes("a.b.example.com.cn")] == ["a.b.example.com.cn", "b.example.com.cn",
                                                                         "example.com.cn"]
    assert registrable_domain("x.s3.amazonaws.com") == "amazonaws.com"
    assert [name for name, _ in host_suffixes("router.lan")] == ["router.lan"]


# --- IP literals -----------------------------------------------------------------------------------------

def test_ip_literals_in_cidr_and_exact(index: SignatureIndex) -> None:
    assert sdk_of(index, req("http://119.29.29.98/d?dn=example.com")) == "dnspod-httpdns"
    assert sdk_of(index, req("http://119.29.29.254/")) == "dnspod-httpdns"
    assert sdk_of(index, req("http://119.29.30.1/")) is None
    assert sdk_of(index, req("http://[2402:4e00:1::8]/d")) == "dnspod-httpdns"
    assert sdk_of(index, req("http://203.107.1.1/123/d?host=a.com")) == "aliyun-httpdns"
    assert sdk_of(index, req("http://203.107.1.2/")) is None


def test_ip_direct_connections_use_the_host_header(index: SignatureIndex) -> None:
    # after HTTPDNS resolution apps connect to the address and name the real host in the header
    obs = req("http://47.96.1.2/reg", headers={"Host": "eu.push.acme.com"})
    assert sdk_of(index, obs) == "acme-push"
    assert sdk_of(index, req("http://47.96.1.2/reg", headers={"Host": "47.96.1.2:80"})) is None
    assert sdk_of(index, req("http://47.96.1.2/", headers={"Host": "api.shop.example"}), ("shop.example",)) == FIRST_PARTY_ID
    # a named host keeps its own attribution whatever the header says
    assert sdk_of(index, req("https://push.acme.com/", headers={"Host": "crash.push.acme.com"})) == "acme-push"


def test_observation_without_host_uses_the_server_address(index: SignatureIndex) -> None:
    sighting = Observation(ts=0, host="", server_ip="119.29.29.29", kind=ObservationKind.TLS_SNI)
    assert sdk_of(index, sighting) == "dnspod-httpdns"
    assert sdk_of(index, Observation(ts=0, host="", server_ip="8.8.8.8")) is None


# --- any_host fingerprints -----------------------------------------------------------------------------

def test_any_host_rules_recognise_sdks_on_the_customers_host(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://data.shop.example/sa?project=prod")) == "sensors-analytics"
    assert sdk_of(index, req("https://data.shop.example/sa.gif?project=default&data=eyJ9")) == "sensors-analytics"
    assert sdk_of(index, req("https://data.shop.example/sa")) is None           # project missing
    assert sdk_of(index, req("https://data.shop.example/save?project=x")) is None
    assert sdk_of(index, req("https://logs.example.org/x", headers={"x-umeng-sdk": "a/9.6"})) == "umeng-analytics"
    assert sdk_of(index, req("https://logs.example.org/x", headers={"X-Umeng-Sdk": ""})) is None


def test_any_host_beats_bare_domain_but_not_domain_with_conditions(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://push.acme.com/sa?project=p")) == "sensors-analytics"
    assert sdk_of(index, req("https://crash.push.acme.com/sa?project=p")) == "acme-crash"
    assert sdk_of(index, req("https://acme.com/ads?x=1", headers={"X-Umeng-Sdk": "a"})) == "acme-ads"


def test_vendor_fingerprint_yields_to_the_vendors_product_host() -> None:
    index = SignatureIndex([
        sig("umeng-analytics", {"domain": "umeng.com"}, {"any_host": True, "headers": {"X-Umeng-Sdk": ".+"}}),
        sig("umeng-push", {"domain": "msg.umengcloud.com"}),
        sig("acme-cdn", {"domain": "acmecdn.net"}),
    ])
    umeng = {"X-Umeng-Sdk": "a/9.6.1"}
    assert sdk_of(index, req("https://msg.umengcloud.com/reg", headers=umeng)) == "umeng-push"
    assert sdk_of(index, req("https://x.acmecdn.net/up", headers=umeng)) == "umeng-analytics"   # other vendor
    assert sdk_of(index, req("https://app.example/log", headers=umeng)) == "umeng-analytics"
    assert sdk_of(index, req("https://msg.umengcloud.com/reg")) == "umeng-push"


def test_any_host_candidates_are_keyed_not_scanned(index: SignatureIndex) -> None:
    from flowaudit.core.signatures import _RequestView

    view = _RequestView(req("https://x.example/other/path", headers={"Accept": "*/*"}))
    assert index._any_host_candidates(view) == []
    view = _RequestView(req("https://x.example/sa/x", headers={"X-UMENG-SDK": "1"}))
    assert {r.sdk_id for r in index._any_host_candidates(view)} == {"sensors-analytics", "umeng-analytics"}


def test_any_host_path_regex_rules_are_keyed_on_their_literal_segment() -> None:
    from flowaudit.core.signatures import _RequestView, regex_first_segment

    assert regex_first_segment(r"^/udid/(m1|c1)$") == "udid" and regex_first_segment(r"^/v3(x)?") == ""
    index = SignatureIndex([sig("dx-fp", {"any_host": True, "path_regex": r"^/udid/(m1|c1)$"}),
                            sig("odd-sdk", {"any_host": True, "path_regex": r"(?i)/ODD/beacon"})])
    assert sdk_of(index, req("https://risk.shop.example/udid/c1")) == "dx-fp"
    assert sdk_of(index, req("https://risk.shop.example/udid/c2")) is None
    assert sdk_of(index, req("https://x.example/a/odd/beacon")) == "odd-sdk"    # unkeyable: always checked
    assert [r.sdk_id for r in index._any_host_candidates(_RequestView(req("https://x.example/home")))] == ["odd-sdk"]


@pytest.mark.parametrize(("pattern", "segment"), [
    (r"(^|/)mbeacon(/|$)", "mbeacon"), (r"(^|/)openrtb2/auction$", "openrtb2"), (r"(?:^|/)x(?:/|$)", "x"),
    (r"x/seg$", "seg"), (r"[(]/mbeacon/", "mbeacon"),
    (r"/a|/mbeacon/", ""), (r"(a|/mbeacon/)", ""), (r"/mbeacon", ""), (r"/mbeacon\.gif", ""),
    (r"/seg/?", ""), (r"/seg(/|$)?", ""), (r"(^|/)(matomo|piwik)\.php$", ""),
])
def test_required_segment_of_unanchored_regexes(pattern: str, segment: str) -> None:
    from flowaudit.core.signatures import regex_required_segment

    assert regex_required_segment(pattern) == segment


def test_unanchored_any_host_regexes_are_keyed_on_a_required_segment() -> None:
    from flowaudit.core.signatures import _RequestView

    index = SignatureIndex([sig("dyna-apm", {"any_host": True, "path_regex": r"(^|/)mbeacon(/|$)"}),
                            sig("any-case", {"any_host": True, "path_regex": r"(?i)(^|/)beacon2(/|$)"})])
    assert sdk_of(index, req("https://apm.corp.example/e/abc/mbeacon")) == "dyna-apm"
    assert sdk_of(index, req("https://apm.corp.example/mbeacon/x")) == "dyna-apm"
    assert sdk_of(index, req("https://apm.corp.example/mbeacons")) is None
    assert sdk_of(index, req("https://x.example/A/BEACON2")) == "any-case"       # not keyable: always checked
    candidates = index._any_host_candidates(_RequestView(req("https://x.example/home/feed")))
    assert [r.sdk_id for r in candidates] == ["any-case"]


def test_header_and_query_conditions(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://api.fengkongcloud.com/deviceprofile", headers={"X-SM-SDK": "v3.1"})) == "shumei-risk"
    assert sdk_of(index, req("https://api.fengkongcloud.com/deviceprofile", headers={"X-Sm-Sdk": "3.1"})) is None
    assert sdk_of(index, req("https://a.qsdk.io/c?ak=deadbeef")) == "query-sdk"
    assert sdk_of(index, req("https://a.qsdk.io/c?ak=deadbeefff")) is None
    assert sdk_of(index, req("https://a.qsdk.io/c")) is None
    obs = Observation(ts=0, host="a.qsdk.io", path="/c?ak=01234567")    # query left in the path by a reader
    assert sdk_of(index, obs) == "query-sdk"


# --- host-only sightings -------------------------------------------------------------------------------

def test_host_only_sightings(index: SignatureIndex) -> None:
    for kind in ("tls_sni", "quic_sni", "dns"):
        assert sdk_of(index, req("unseen.push.acme.com", kind=kind)) == "acme-push"
    assert sdk_of(index, req("cdn.qsdk.io", kind="tls_sni")) is None            # conditional rule
    assert sdk_of(index, req("fp.tongdun.net", kind="tls_sni")) == "tongdun-fraud"   # host_only: true
    assert sdk_of(index, req("https://fp.tongdun.net/ios")) is None              # requests still need the path
    assert sdk_of(index, req("https://fp.tongdun.net/android/v2")) == "tongdun-fraud"
    assert sdk_of(index, req("crash.push.acme.com", kind="dns")) == "acme-crash"
    assert sdk_of(index, req("shop.example", kind="tls_sni")) is None            # any_host never matches SNI
    assert sdk_of(index, Observation(ts=0, host="119.29.29.8", kind=ObservationKind.TLS_SNI)) == "dnspod-httpdns"


# --- ties ----------------------------------------------------------------------------------------------

def test_ties_are_reported_and_stable(index: SignatureIndex) -> None:
    attribution = index.attribute(req("https://x.twin.cn/"))
    assert attribution is not None
    assert attribution.sdk_id == "twin-a" and attribution.ties == ("twin-b",)
    reversed_index = SignatureIndex([sig("twin-b", {"domain": "twin.cn"}), sig("twin-a", {"domain": "twin.cn"})])
    again = reversed_index.attribute(req("https://x.twin.cn/"))
    assert again is not None and (again.sdk_id, again.ties) == ("twin-a", ("twin-b",))


def test_attribution_carries_names_rule_and_specificity(index: SignatureIndex) -> None:
    attribution = index.attribute(req("https://crash.push.acme.com/"))
    assert attribution is not None
    assert attribution.name == "Acme-Crash" and attribution.vendor == "acme-crash Ltd"
    assert attribution.category == "analytics" and not attribution.first_party
    assert "crash.push.acme.com" in attribution.rule
    bare = index.attribute(req("https://push.acme.com/"))
    assert bare is not None and attribution.specificity > bare.specificity


def test_host_cache_keeps_conditions_per_request(index: SignatureIndex) -> None:
    for _ in range(3):
        assert sdk_of(index, req("https://cdn.acme.com/ads/1")) == "acme-ads"
        assert sdk_of(index, req("https://cdn.acme.com/home")) == "acme-analytics"


# --- first party ---------------------------------------------------------------------------------------

def test_first_party(index: SignatureIndex) -> None:
    fp = ("shop.example",)
    attribution = index.attribute(req("https://api.shop.example/v1/cart"), fp)
    assert attribution is not None and attribution.first_party and attribution.sdk_id == FIRST_PARTY_ID
    assert attribution.vendor == "shop.example"
    assert sdk_of(index, req("https://shop.example/")) is None
    assert sdk_of(index, req("https://evilshop.example/"), fp) is None
    # an SDK fingerprint on the app's own host still wins over first party
    assert sdk_of(index, req("https://data.shop.example/sa?project=prod"), fp) == "sensors-analytics"
    assert sdk_of(index, req("https://api.shop.example/x", headers={"X-Umeng-Sdk": "a"}), fp) == "umeng-analytics"
    # first party as a list, with wildcard and upper-case spellings, or a single string
    assert sdk_of(index, req("https://m.shop.example/"), ["*.SHOP.example"]) == FIRST_PARTY_ID
    assert index.attribute(req("https://m.shop.example/"), "shop.example").sdk_id == FIRST_PARTY_ID  # type: ignore[arg-type,union-attr]
    assert sdk_of(index, Observation(ts=0, host="m.shop.example:8080"), ("shop.example",)) == FIRST_PARTY_ID


@pytest.mark.parametrize(("entry", "domain"), [
    ("example.com", "example.com"), ("*.Example.com", "example.com"), (".example.com", "example.com"),
    ("https://www.example.com/privacy", "example.com"), ("www.example.com.cn", "example.com.cn"),
    ("www.blogspot.example", "www.blogspot.example"), ("api.example.com:8443", "api.example.com"),
    ("com", ""), ("com.cn", ""), ("*.co.uk", ""), ("", ""), ("10.0.0.2", "10.0.0.2"), ("intranet", "intranet"),
])
def test_first_party_entries_are_normalised(entry: str, domain: str) -> None:
    from flowaudit.core.signatures import first_party_domain

    assert first_party_domain(entry) == domain


def test_public_suffix_first_party_claims_nothing(index: SignatureIndex) -> None:
    assert sdk_of(index, req("https://random.example.com.cn/"), ("com.cn",)) is None
    assert sdk_of(index, req("https://eu.push.acme.com/"), ("com",)) == "acme-push"


def test_first_party_against_vendor_rules(index: SignatureIndex) -> None:
    # auditing the vendor's own app: its bare domain is first party, a more specific SDK rule still wins
    assert sdk_of(index, req("https://www.acme.com/"), ("acme.com",)) == FIRST_PARTY_ID
    assert sdk_of(index, req("https://eu.push.acme.com/"), ("acme.com",)) == "acme-push"
    assert sdk_of(index, req("https://acme.com/ads/x"), ("acme.com",)) == "acme-ads"


def test_first_party_candidates_from_package_names() -> None:
    assert first_party_candidates("com.example.app") == ["example.com"]
    assert first_party_candidates("cn.com.bank.mobile") == ["bank.com.cn"]
    assert first_party_candidates("com.tencent.mm") == []        # shared platform: never suggested
    assert first_party_candidates("io.github.someone.app") == []
    assert first_party_candidates("app") == []
    assert first_party_candidates("com.Example.App") == ["example.com"]
    assert first_party_candidates("com.exa mple.x") == []
    assert first_party_candidates("zz.unknowntld.app") == []


# --- lint, examples, collisions -------------------------------------------------------------------------

def rule(**kwargs: Any) -> NetworkRule:
    return NetworkRule.model_validate(kwargs)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"domain": "com.cn"}, "public suffix"),
    ({"domain": "com"}, "public suffix"),
    ({"host": "co.uk"}, "public suffix"),
    ({"domain": "googleapis.com"}, "shared platform"),
    ({"domain": "qq.com"}, "shared platform"),
    ({"domain": "qq.com", "path": "/x", "host_only": True}, "host_only"),
    ({"domain": "acme.com", "shared_domain": True}, "shared_domain"),
    ({"domain": "acme.com", "path_regex": ".*"}, "trivially broad"),
    ({"domain": "acme.com", "path_regex": "^/"}, "trivially broad"),
    ({"domain": "acme.com", "path": "/"}, "root"),
    ({"any_host": True, "headers": {"User-Agent": ".*"}}, "any_host rule needs"),
    ({"any_host": True, "query_keys": ["appid"]}, "any_host rule needs"),
    ({"any_host": True, "path": "/x", "host_only": True}, "host_only"),
    ({"ip": "10.0.0.0/8"}, "private"),
    ({"ip": "8.0.0.0/8"}, "too large"),
    ({"domain": "router.lan"}, "no public suffix"),
])
def test_lint_rejects_broad_rules(kwargs: dict[str, Any], fragment: str) -> None:
    problems = lint_rule(rule(**kwargs))
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize("kwargs", [
    {"domain": "umeng.com"},
    {"host": "firebaseinstallations.googleapis.com"},
    {"domain": "googleapis.com", "path": "/firebase/v1"},
    {"domain": "qq.com", "shared_domain": True},
    {"domain": "bugly.qq.com"},
    {"any_host": True, "path": "/sa", "query_keys": ["project"]},
    {"any_host": True, "headers": {"X-Umeng-Sdk": ".+"}},
    {"any_host": True, "query_keys": ["sensorsdata_app_id"]},
    {"any_host": True, "headers": {"User-Agent": "UmengSDK"}},
    {"ip": "119.29.29.0/24"},
    {"domain": "acme.com", "path_regex": r"^/v\d+/log$"},
])
def test_lint_accepts_narrow_rules(kwargs: dict[str, Any]) -> None:
    assert lint_rule(rule(**kwargs)) == []


def test_regex_broadness() -> None:
    assert regex_too_broad(".*") and regex_too_broad("") and regex_too_broad("/")
    assert not regex_too_broad("^/unify_logs$") and not regex_too_broad(r"/v\d/events")


def test_lint_signature_needs_exodus_id_and_no_self_overlap() -> None:
    bad = sig("acme-x", {"domain": "acme.com"}, provenance=[{"source": "exodus"}], overlaps=["acme-x"])
    problems = lint_signature(bad)
    assert any("exodus_id" in p for p in problems) and any("itself" in p for p in problems)


def test_check_examples_against_the_whole_index() -> None:
    ok = sig("acme-analytics", {"domain": "acme.com"}, match=["https://t.acme.com/x"],
             no_match=["https://acme.com.evil.org/"])
    shadowed = sig("acme-push", {"domain": "push.acme.com"}, match=["https://push.acme.com/"])
    index = SignatureIndex([ok, shadowed])
    assert check_examples(ok, index) == []
    wrong = sig("acme-analytics", {"domain": "acme.com"},
                match=["https://eu.push.acme.com/", "https://other.org/"], no_match=["https://www.acme.com/"])
    problems = check_examples(wrong, SignatureIndex([wrong, shadowed]))
    assert len(problems) == 3
    assert "attributes to acme-push" in problems[0] and "not attributed" in problems[1]
    assert "no_match" in problems[2]


def test_check_examples_accepts_declared_overlap_ties() -> None:
    a = sig("twin-b", {"domain": "twin.cn"}, overlaps=["twin-a"], match=["https://twin.cn/"])
    b = sig("twin-a", {"domain": "twin.cn"}, overlaps=["twin-b"], match=["https://twin.cn/"])
    index = SignatureIndex([a, b])
    assert check_examples(a, index) == [] and check_examples(b, index) == []


def test_collisions_need_overlaps_on_both_sides() -> None:
    a = sig("a-one", {"domain": "shared.cn"})
    b = sig("b-two", {"domain": "shared.cn"}, overlaps=["a-one"])
    c = sig("c-three", {"domain": "shared.cn", "path": "/c"})            # different conditions: no collision
    collisions = find_collisions([a, b, c])
    assert [(x.first, x.second) for x in collisions] == [("a-one", "b-two")]
    a2 = sig("a-one", {"domain": "shared.cn"}, overlaps=["b-two"])
    assert find_collisions([a2, b, c]) == []
    same_headers = [sig("h-one", {"any_host": True, "headers": {"X-A": "1"}}),
                    sig("h-two", {"any_host": True, "headers": {"x-a": "1"}})]
    assert len(find_collisions(same_headers)) == 1


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        SignatureIndex([sig("acme-x", {"domain": "acme.com"}), sig("acme-x", {"domain": "acme.net"})])


def test_index_stats(index: SignatureIndex) -> None:
    stats = index.stats()
    assert stats["ip"] == 3 and stats["any_host"] == 2 and stats["host"] == 2
    assert stats["host_only"] == 1 and len(index) == 15


# --- offline public-suffix list -------------------------------------------------------------------------

OFFLINE_PROBE = """
import os, socket
attempts = []
def refuse(*args, **kwargs):
    attempts.append(args)
    raise OSError("network used")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from flowaudit.core.signatures import registrable_domain, SignatureIndex
from flowaudit.core.signature_schema import Signature
from flowaudit.core.model import Observation
assert registrable_domain("a.b.example.com.cn") == "example.com.cn", registrable_domain("a.b.example.com.cn")
assert registrable_domain("x.y.bbc.co.uk") == "bbc.co.uk"
index = SignatureIndex([Signature.model_validate({
    "id": "acme-x", "name": "Acme", "vendor": {"id": "acme", "name": "Acme"}, "category": "analytics",
    "network": [{"domain": "acme.com.cn"}], "provenance": [{"source": "curated"}],
    "match": ["https://a.acme.com.cn/"]})])
assert index.attribute(Observation(ts=0, host="deep.api.acme.com.cn")).sdk_id == "acme-x"
assert not attempts, f"network used: {attempts}"
cache = os.environ["XDG_CACHE_HOME"]
assert not any(os.scandir(cache)), f"files written under {cache}: {os.listdir(cache)}"
print("offline ok")
"""


def test_public_suffix_list_works_without_network(tmp_path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare not available")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.decode(errors='replace').strip()}")
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "TLDEXTRACT_CACHE": str(cache / "tldextract")}
    result = subprocess.run([unshare, "-n", sys.executable, "-c", OFFLINE_PROBE], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert "offline ok" in result.stdout


def test_lint_checks_urls() -> None:
    bad = sig("acme-x", {"domain": "acme.com"}, privacy_policy="www.acme.com/privacy",
              references=[{"url": "ftp://acme.com/doc"}, {"note": "decompiled"}])
    problems = lint_signature(bad)
    assert len(problems) == 2 and all("http(s) URL" in p for p in problems)


def test_candidates_do_not_grow_with_the_database() -> None:
    """Lookups are hash probes: adding unrelated vendors adds no candidates to check for a request."""
    from flowaudit.core.signatures import _RequestView

    def build(copies: int) -> SignatureIndex:
        sigs = [sig("acme-analytics", {"domain": "acme.com"}, {"any_host": True, "headers": {"X-Acme": "."}})]
        for n in range(copies):
            sigs.append(sig(f"v{n}-sdk", {"domain": f"vendor{n}.com"}, {"host": f"api.vendor{n}.cn"},
                            {"ip": f"100.{n % 250}.{n // 250}.0/24"},
                            {"any_host": True, "headers": {f"X-Vendor{n}": "."}},
                            {"any_host": True, "path_regex": f"^/v{n}/collect"}))
        return SignatureIndex(sigs)

    small, large = build(5), build(2000)
    assert len(large.rules) > 300 * len(small.rules) // 2
    obs = req("https://deep.api.acme.com/event/collect", headers={"X-Acme": "1", "User-Agent": "okhttp"})
    for index in (small, large):
        assert [r.sdk_id for r in index.host_candidates("deep.api.acme.com")] == ["acme-analytics"]
        assert [r.sdk_id for r in index._any_host_candidates(_RequestView(obs))] == ["acme-analytics"]
        assert sdk_of(index, obs) == "acme-analytics"
    assert sdk_of(large, req("http://100.7.4.9/x")) == "v1007-sdk"
    assert sdk_of(large, req("https://x.example/v1999/collect")) == "v1999-sdk"


# --- hostile input -------------------------------------------------------------------------------------

_HOSTS = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[a-z0-9.\-\[\]:%]{0,60}", fullmatch=True),
    st.sampled_from(["", ".", "..", "com.cn", "[::1]", "[::1", "::1]", "1.2.3.4.5", "x" * 300 + ".acme.com",
                     "push.acme.com:99999", "a..acme.com", "xn--fiqs8s.acme.com", "例子.acme.com"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=_HOSTS, path=st.text(max_size=60), query=st.text(max_size=60),
       headers=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=5),
       kind=st.sampled_from(list(ObservationKind)), first_party=st.lists(st.text(max_size=20), max_size=3))
def test_attribution_never_raises_on_hostile_input(index: SignatureIndex, host: str, path: str, query: str,
                                                   headers: list[tuple[str, str]], kind: ObservationKind,
                                                   first_party: list[str]) -> None:
    obs = Observation(ts=0, host=host, kind=kind, path=path, query=query, headers=headers)
    attribution = index.attribute(obs, first_party)
    assert attribution is None or attribution.sdk_id
