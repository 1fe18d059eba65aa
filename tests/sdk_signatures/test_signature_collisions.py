"""No two SDKs claim the same rule (same selector, same conditions) unless both declare the overlap."""

from __future__ import annotations

from flowaudit.core.signatures import find_collisions
from flowaudit.signature_db import SignatureDatabase, stray_files


def test_no_undeclared_collisions(signature_database: SignatureDatabase) -> None:
    collisions = find_collisions(signature_database.signatures)
    lines = [f"{c.first} ({signature_database.path_of(c.first)}) and {c.second} ({signature_database.path_of(c.second)}) "
             f"both claim '{c.rule}'" for c in collisions]
    assert not collisions, "\n".join(lines)


def test_ids_are_unique(signature_database: SignatureDatabase) -> None:
    duplicates = {str(path): problems for path, problems in signature_database.load_problems.items()
                  if any("duplicate id" in p for p in problems)}
    assert not duplicates, duplicates


def test_no_stray_yaml_files(signature_database: SignatureDatabase) -> None:
    stray = stray_files(signature_database.directory)
    assert not stray, "files the loader skips (signature files live at <vendor>/<id>.yaml): " + ", ".join(map(str, stray))
