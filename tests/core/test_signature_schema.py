"""The schema of one signature file (flowaudit/core/signature_schema.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from flowaudit.core.signature_schema import NetworkRule, Signature

VALID: dict[str, Any] = {
    "id": "acme-analytics",
    "name": "Acme Analytics",
    "name_zh": "阿克米统计",
    "vendor": {"id": "acme", "name": "Acme Ltd", "name_zh": "阿克米有限公司", "country": "cn"},
    "category": "analytics",
    "aliases": ["阿克米SDK"],
    "android_packages": ["com.acme.analytics"],
    "maven": ["com.acme:analytics"],
    "network": [{"domain": "acme.com"}, {"any_host": True, "path": "/acme/log"}],
    "data_fields": {"imei": "imei", "lat": "precise_location"},
    "provenance": [{"source": "curated"}],
    "match": ["https://log.acme.com/x", {"url": "https://x.example/acme/log", "method": "POST"}],
    "no_match": [{"url": "acme.org", "kind": "tls_sni"}],
}


def variant(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_valid_file_loads_and_expands_example_shorthand() -> None:
    sig = Signature.model_validate(VALID)
    assert sig.match[0].url == "https://log.acme.com/x" and sig.match[0].method == "GET"
    assert sig.match[1].method == "POST" and sig.no_match[0].kind == "tls_sni"
    assert sig.network[0].has_conditions is False and sig.network[1].has_conditions is True
    assert sig.network[0].shared_domain is False


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"unknown_field": 1}, "Extra inputs"),
    ({"id": "Acme_Analytics"}, "pattern"),
    ({"category": "spyware"}, "category"),
    ({"provenance": []}, "provenance"),
    ({"provenance": None}, "provenance"),
    ({"data_fields": {"imei": "imei_number"}}, "unknown data-type ids: imei_number"),
    ({"match": []}, "match example"),
    ({"vendor": {"id": "acme", "name": "Acme", "country": "CN"}}, "country"),
    ({"vendor": {"id": "acme", "name": "Acme", "extra": 1}}, "Extra inputs"),
    ({"match": [{"url": "https://a.acme.com", "kind": "http3"}]}, "kind"),
    ({"provenance": [{"source": "wikipedia"}]}, "source"),
])
def test_invalid_files_are_rejected(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        Signature.model_validate(variant(**changes))
    assert fragment in str(err.value)


@pytest.mark.parametrize(("rule", "fragment"), [
    ({}, "exactly one of"),
    ({"domain": "acme.com", "host": "a.acme.com"}, "exactly one of"),
    ({"domain": "acme.com", "any_host": True, "path": "/x"}, "exactly one of"),
    ({"any_host": True}, "needs a path, query or header"),
    ({"any_host": True, "methods": ["POST"]}, "needs a path, query or header"),
    ({"domain": "Acme.com"}, "lower-case"),
    ({"domain": ".acme.com"}, "lower-case"),
    ({"domain": "*.acme.com"}, "wildcard"),
    ({"host": "acme.com/path"}, "without wildcard or path"),
    ({"ip": "300.1.1.1"}, "does not appear to be"),
    ({"domain": "acme.com", "path_regex": "(unclosed"}, "missing )"),
    ({"domain": "acme.com", "headers": {"X-A": "[a-"}}, "unterminated"),
    ({"domain": "acme.com", "query": {"k": "*"}}, "nothing to repeat"),
    ({"domain": "acme.com", "methods": ["post"]}, "upper-case"),
    ({"domain": "acme.com", "hosts": ["a"]}, "Extra inputs"),
])
def test_invalid_rules_are_rejected(rule: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        NetworkRule.model_validate(rule)
    assert fragment in str(err.value)


def test_rules_are_immutable() -> None:
    rule = NetworkRule.model_validate({"domain": "acme.com"})
    with pytest.raises(ValidationError):
        rule.domain = "evil.com"  # type: ignore[misc]


def test_ip_rules_accept_addresses_and_networks() -> None:
    assert NetworkRule.model_validate({"ip": "203.107.1.1"}).ip == "203.107.1.1"
    assert NetworkRule.model_validate({"ip": "2402:4e00::/32"}).ip == "2402:4e00::/32"


def test_package_prefixes_are_normalised_and_checked() -> None:
    sig = Signature.model_validate(variant(android_packages=["com.qq.e.", " com.acme.sdk "]))
    assert sig.android_packages == ("com.qq.e", "com.acme.sdk")
    with pytest.raises(ValidationError, match="not Java package names"):
        Signature.model_validate(variant(android_packages=["com/acme/sdk"]))
    with pytest.raises(ValidationError, match="group:artifact"):
        Signature.model_validate(variant(maven=["com.acme analytics"]))
    assert Signature.model_validate(variant(maven=["com.acme:analytics:1.2.3"])).maven == ("com.acme:analytics:1.2.3",)
