from __future__ import annotations

import json
import re

from flowaudit.core.legal import CATALOGUE
from flowaudit.reports import render

LEVELS = {"none", "note", "warning", "error"}


def validate_sarif(doc: dict) -> None:
    """The structure SARIF 2.1.0 requires of what flowaudit emits (sarif-schema-2.1.0 required fields)."""
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and doc["runs"]
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        ids = [rule["id"] for rule in driver["rules"]]
        assert len(ids) == len(set(ids))
        for rule in driver["rules"]:
            assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in LEVELS
        for result in run["results"]:
            assert isinstance(result["message"]["text"], str) and result["message"]["text"]
            assert result["ruleId"] in ids and ids[result["ruleIndex"]] == result["ruleId"]
            assert result["level"] in LEVELS
            for loc in result.get("locations", []):
                uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                assert isinstance(uri, str) and uri
                assert not re.search(r"[\s<>\"{}|\\^`]", uri), uri      # RFC 3986: no raw spaces or brackets
            for value in result.get("partialFingerprints", {}).values():
                assert isinstance(value, str)


def test_sarif_structure_rules_and_locations(hostile_report):
    doc = json.loads(render(hostile_report("en"), "sarif"))
    validate_sarif(doc)
    run = doc["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [k.kind for k in CATALOGUE]
    cleartext = next(r for r in run["results"] if r["ruleId"] == "cleartext_transmission_of_pi")
    assert cleartext["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "http://collect.evil.example/=cmd"
    assert cleartext["level"] == "error"
    incomplete = next(r for r in run["results"] if r["ruleId"] == "sdk_entry_incomplete")
    assert incomplete["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("d")
    assert len({r["partialFingerprints"]["flowauditFinding/v1"] for r in run["results"]}) == len(run["results"])


def test_sarif_is_stable_across_languages(hostile_report):
    zh = json.loads(render(hostile_report("zh"), "sarif"))
    en = json.loads(render(hostile_report("en"), "sarif"))
    assert [r["partialFingerprints"] for r in zh["runs"][0]["results"]] == \
        [r["partialFingerprints"] for r in en["runs"][0]["results"]]
