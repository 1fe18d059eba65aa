"""The shipped signature database, loaded once for all data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowaudit.signature_db import SignatureDatabase, load_database

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGNATURES_DIR = REPO_ROOT / "sdk_signatures"


@pytest.fixture(scope="session")
def signature_database() -> SignatureDatabase:
    return load_database(SIGNATURES_DIR)
