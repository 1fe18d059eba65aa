"""One test per signature file, running exactly the checks of `flowaudit signatures validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowaudit.signature_db import SignatureDatabase, file_problems, signature_files

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGNATURES_DIR = REPO_ROOT / "sdk_signatures"

FILES = signature_files(SIGNATURES_DIR)


def test_database_is_not_empty() -> None:
    assert FILES, f"no signature files under {SIGNATURES_DIR}"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(REPO_ROOT)) for p in FILES])
def test_signature_file(path, signature_database: SignatureDatabase) -> None:
    problems = file_problems(path, signature_database)
    assert not problems, "\n".join(problems)
