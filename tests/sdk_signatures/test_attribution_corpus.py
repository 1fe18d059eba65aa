"""Attribution of real SDK endpoints (tests/data/attribution_corpus.yaml, built from public documentation
and decompiled SDK constants, independently of the signature files) with the shipped database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flowaudit.core.model import Attribution
from flowaudit.core.signature_schema import Example, Signature
from flowaudit.core.signatures import FIRST_PARTY_ID, example_observation
from flowaudit.signature_db import SignatureDatabase

CORPUS = Path(__file__).resolve().parents[1] / "data" / "attribution_corpus.yaml"

# Share of labelled SDK requests that must be attributed to the right SDK family. Raise it as the
# database grows; wrong attributions and false positives are never tolerated (see below).
MIN_RECALL = 0.95


def load_corpus() -> list[dict[str, Any]]:
    entries = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    assert isinstance(entries, list) and entries
    return entries


def belongs_to(sig: Signature, expect: dict[str, list[str]]) -> bool:
    """Does the attributed signature belong to the labelled SDK family? Judged by Android package
    prefixes, or by brand names in its id, names, aliases and vendor."""
    for label in expect.get("packages", []):
        for own in sig.android_packages:
            if own == label or own.startswith(label + ".") or label.startswith(own + "."):
                return True
    haystack = " ".join([sig.id, sig.name, sig.name_zh or "", *sig.aliases, sig.vendor.name,
                         sig.vendor.name_zh or ""]).lower()
    return any(name.lower() in haystack for name in expect.get("names", []))


def attribute(entry: dict[str, Any], database: SignatureDatabase) -> Attribution | None:
    example = Example(url=entry["url"], method=entry.get("method", "GET"), headers=entry.get("headers", {}),
                      kind=entry.get("kind", "request"))
    return database.index.attribute(example_observation(example), tuple(entry.get("first_party", ())))


def judge(entry: dict[str, Any], database: SignatureDatabase) -> tuple[str, str]:
    """(outcome, detail): ok, missed, wrong, false_positive."""
    attribution = attribute(entry, database)
    got = attribution.sdk_id if attribution else None
    expect = entry["expect"]
    if expect == "none":
        return ("ok", "") if got is None else ("false_positive", f"attributed to {got} by {attribution.rule}")  # type: ignore[union-attr]
    if expect == FIRST_PARTY_ID:
        return ("ok", "") if got == FIRST_PARTY_ID else ("wrong", f"expected first party, got {got}")
    if attribution is None:
        return "missed", "not attributed"
    if attribution.first_party:
        without = attribute({**entry, "first_party": ()}, database)
        if without is None:
            return "missed", "no SDK rule matches (first party took it)"
        return "wrong", f"first party won over {without.sdk_id} ({without.rule})"
    sig = database.index.get(attribution.sdk_id)
    assert sig is not None
    if belongs_to(sig, expect):
        return "ok", ""
    tied = [t for t in attribution.ties if (s := database.index.get(t)) is not None and belongs_to(s, expect)]
    if tied:
        return "ok", ""
    return "wrong", f"attributed to {attribution.sdk_id} ({sig.name}) by {attribution.rule}"


@pytest.fixture(scope="module")
def outcomes(signature_database: SignatureDatabase) -> list[tuple[dict[str, Any], str, str]]:
    return [(entry, *judge(entry, signature_database)) for entry in load_corpus()]


def describe(entry: dict[str, Any], detail: str) -> str:
    return f"{entry.get('kind', 'request')} {entry['url']}: {detail}"


def test_corpus_is_well_formed() -> None:
    for entry in load_corpus():
        assert entry.get("source"), entry
        assert entry["expect"] in ("none", FIRST_PARTY_ID) or (
            isinstance(entry["expect"], dict) and (entry["expect"].get("packages") or entry["expect"].get("names"))), entry


def test_no_wrong_attributions(outcomes: list[tuple[dict[str, Any], str, str]]) -> None:
    wrong = [describe(entry, detail) for entry, outcome, detail in outcomes if outcome == "wrong"]
    assert not wrong, "\n".join(wrong)


def test_no_false_positives(outcomes: list[tuple[dict[str, Any], str, str]]) -> None:
    false_positives = [describe(entry, detail) for entry, outcome, detail in outcomes if outcome == "false_positive"]
    assert not false_positives, "\n".join(false_positives)


def test_recall(outcomes: list[tuple[dict[str, Any], str, str]]) -> None:
    labelled = [(entry, outcome, detail) for entry, outcome, detail in outcomes if isinstance(entry["expect"], dict)]
    found = sum(1 for _, outcome, _ in labelled if outcome == "ok")
    recall = found / len(labelled)
    missed = [describe(entry, detail) for entry, outcome, detail in labelled if outcome == "missed"]
    print(f"\ncorpus recall {found}/{len(labelled)} = {recall:.0%}; missed:\n  " + "\n  ".join(missed))
    assert recall >= MIN_RECALL, f"recall {recall:.0%} < {MIN_RECALL:.0%}; missed:\n" + "\n".join(missed)
