"""Coverage of the Exodus trackers that have a network signature (the reference file is not shipped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowaudit.signature_db import (
    EXODUS_WITH_NETWORK_SIGNATURE,
    SignatureDatabase,
    exodus_coverage,
    load_exodus,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EXODUS_CANDIDATES = (
    REPO_ROOT.parent / "shared" / "reference" / "data" / "exodus_trackers.json",
    Path("/work/shared/reference/data/exodus_trackers.json"),
)

# Raise as the database grows; the goal is every Exodus tracker with a network signature (260 in the
# reference dump).
MIN_COVERED = 260


def _exodus_file() -> Path:
    for candidate in EXODUS_CANDIDATES:
        if candidate.is_file():
            return candidate
    pytest.skip("Exodus reference file not found beside the repository (../shared/reference/data/)")


def test_exodus_trackers_with_network_signature_are_covered(signature_database: SignatureDatabase) -> None:
    exodus = load_exodus(_exodus_file())
    covered, missing = exodus_coverage(signature_database.signatures, exodus)
    total = len(covered) + len(missing)
    assert total == EXODUS_WITH_NETWORK_SIGNATURE, f"the Exodus reference changed: {total} trackers with a network signature"
    report = ", ".join(f"{tid} {exodus[tid]['name']}" for tid in sorted(missing))
    assert len(covered) >= MIN_COVERED, f"{len(covered)}/{total} covered; missing: {report}"


def test_exodus_provenance_points_at_real_trackers(signature_database: SignatureDatabase) -> None:
    exodus = load_exodus(_exodus_file())
    wrong = [f"{signature_database.path_of(sig.id)}: exodus_id {p.exodus_id} does not exist"
             for sig in signature_database.signatures for p in sig.provenance
             if p.source == "exodus" and p.exodus_id is not None and p.exodus_id not in exodus]
    assert not wrong, "\n".join(wrong)
