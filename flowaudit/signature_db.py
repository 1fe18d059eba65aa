"""Loads the shipped signature files (sdk_signatures/<vendor>/<id>.yaml) into a SignatureIndex, and
validates them. Data only, read from disk, never fetched.

The checks here are the single implementation behind both `flowaudit signatures validate` and the
per-file data tests (tests/sdk_signatures/).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flowaudit.core.signature_schema import Signature
from flowaudit.core.signatures import (
    Collision,
    SignatureIndex,
    check_examples,
    example_observation,
    find_collisions,
    lint_signature,
)

log = logging.getLogger(__name__)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

EXODUS_WITH_NETWORK_SIGNATURE = 260
STRAY_MESSAGE = "not loaded: signature files live at <vendor>/<id>.yaml"


class SignatureFileError(ValueError):
    pass


def signatures_dir() -> Path:
    return Path(str(resources.files("flowaudit.sdk_signatures")))


def signature_files(directory: Path | None = None) -> list[Path]:
    root = directory or signatures_dir()
    return sorted(p for p in root.glob("*/*.yaml") if p.is_file())


def stray_files(directory: Path | None = None) -> list[Path]:
    """YAML files the loader would silently skip: not at <vendor>/<id>.yaml, or spelled .yml."""
    root = directory or signatures_dir()
    expected = set(signature_files(root))
    found = [p for pattern in ("**/*.yaml", "**/*.yml") for p in root.glob(pattern) if p.is_file()]
    return sorted(p for p in found if p not in expected)


def _one_line_errors(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(file)"
        message = str(error["msg"]).replace("\n", " ")
        lines.append(f"{location}: {message}")
    return lines


def load_signature_file(path: Path) -> Signature:
    """One signature file; a SignatureFileError with one line per problem if it is not valid."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError) as exc:
        raise SignatureFileError(f"{path}: unreadable: {exc}") from None
    except yaml.YAMLError as exc:
        raise SignatureFileError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise SignatureFileError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Signature.model_validate(data)
    except ValidationError as exc:
        raise SignatureFileError("\n".join(f"{path}: {line}" for line in _one_line_errors(exc))) from None


def load_signatures(directory: Path | None = None) -> list[Signature]:
    """Every signature file under ``directory``; raises SignatureFileError on the first bad file."""
    return [load_signature_file(p) for p in signature_files(directory)]


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(slots=True)
class SignatureDatabase:
    """Every loadable file of a directory, the problems of those that did not load, and the index."""

    directory: Path
    files: dict[Path, Signature] = field(default_factory=dict)
    load_problems: dict[Path, list[str]] = field(default_factory=dict)
    index: SignatureIndex = field(default_factory=lambda: SignatureIndex(()))
    collisions: dict[str, list[Collision]] | None = None   # by SDK id, computed on first use

    @property
    def signatures(self) -> list[Signature]:
        return list(self.files.values())

    def path_of(self, sdk_id: str) -> Path | None:
        return next((path for path, sig in self.files.items() if sig.id == sdk_id), None)


def load_database(directory: Path | None = None) -> SignatureDatabase:
    root = Path(directory) if directory else signatures_dir()
    database = SignatureDatabase(root)
    seen: dict[str, Path] = {}
    for path in signature_files(root):
        try:
            sig = load_signature_file(path)
        except SignatureFileError as exc:
            database.load_problems[path] = [line.split(": ", 1)[1] if line.startswith(f"{path}: ") else line
                                            for line in str(exc).splitlines()]
            continue
        if sig.id in seen:
            database.load_problems[path] = [f"duplicate id {sig.id!r}, already used by {seen[sig.id]}"]
            continue
        seen[sig.id] = path
        database.files[path] = sig
    database.index = SignatureIndex(database.files.values())
    return database


def file_problems(path: Path, database: SignatureDatabase) -> list[str]:
    """Everything wrong with one file, judged against the whole database it belongs to."""
    if path in database.load_problems:
        return list(database.load_problems[path])
    sig = database.files.get(path)
    if sig is None:
        return ["not part of the database (expected <vendor>/<id>.yaml)"]
    problems: list[str] = []
    if sig.id != path.stem:
        problems.append(f"id {sig.id!r} differs from the file name {path.stem!r}")
    if sig.vendor.id != path.parent.name:
        problems.append(f"vendor.id {sig.vendor.id!r} differs from the folder {path.parent.name!r}")
    problems.extend(lint_signature(sig))
    known = database.index.signatures
    for other in sig.overlaps:
        if other not in known:
            problems.append(f"overlaps names unknown signature {other!r}")
    problems.extend(check_examples(sig, database.index))
    for collision in collisions_of(sig.id, database):
        other = collision.second if collision.first == sig.id else collision.first
        problems.append(f"rule '{collision.rule}' is also claimed by {other} ({database.path_of(other)}); "
                        "narrow one of them or list each other in overlaps")
    return problems


def collisions_of(sdk_id: str, database: SignatureDatabase) -> list[Collision]:
    if database.collisions is None:
        by_sdk: dict[str, list[Collision]] = {}
        for collision in find_collisions(database.signatures):
            by_sdk.setdefault(collision.first, []).append(collision)
            by_sdk.setdefault(collision.second, []).append(collision)
        database.collisions = by_sdk
    return database.collisions.get(sdk_id, [])


def validate_directory(directory: Path | None = None) -> list[Problem]:
    database = load_database(directory)
    problems: list[Problem] = []
    for path in signature_files(database.directory):
        problems.extend(Problem(path, message) for message in file_problems(path, database))
    problems.extend(Problem(path, STRAY_MESSAGE) for path in stray_files(database.directory))
    return problems


# --- statistics ----------------------------------------------------------------------------------------

def load_exodus(path: Path) -> dict[int, dict[str, Any]]:
    """Exodus trackers by id from an Exodus API dump ({"trackers": {...}} or a list)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    trackers = data.get("trackers", data) if isinstance(data, dict) else data
    items: Iterable[Any] = trackers.values() if isinstance(trackers, dict) else trackers
    return {int(t["id"]): t for t in items if isinstance(t, dict) and "id" in t}


def exodus_coverage(signatures: Iterable[Signature], exodus: dict[int, dict[str, Any]]) -> tuple[set[int], set[int]]:
    """(covered, missing) Exodus ids among trackers that have a network signature."""
    with_network = {tid for tid, t in exodus.items() if (t.get("network_signature") or "").strip()}
    claimed = {p.exodus_id for sig in signatures for p in sig.provenance
               if p.source == "exodus" and p.exodus_id is not None and sig.network}
    return with_network & claimed, with_network - claimed


def database_stats(signatures: list[Signature], exodus: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    with_rules = [s for s in signatures if s.network]
    rule_kinds: Counter[str] = Counter()
    for sig in signatures:
        for rule in sig.network:
            kind = "any_host" if rule.any_host else "host" if rule.host else "domain" if rule.domain else "ip"
            rule_kinds[kind] += 1
            if rule.has_conditions:
                rule_kinds["with_conditions"] += 1
            if rule.host_only:
                rule_kinds["host_only"] += 1
    stats: dict[str, Any] = {
        "sdks": len(signatures),
        "sdks_with_network_rules": len(with_rules),
        "chinese_sdks_with_network_rules": sum(1 for s in with_rules if s.vendor.country == "cn"),
        "vendors": len({s.vendor.id for s in signatures}),
        "categories": dict(sorted(Counter(s.category.value for s in signatures).items())),
        "rules": sum(len(s.network) for s in signatures),
        "rules_by_kind": dict(sorted(rule_kinds.items())),
        "exodus_ids_referenced": len({p.exodus_id for s in signatures for p in s.provenance if p.exodus_id}),
    }
    if exodus is not None:
        covered, missing = exodus_coverage(signatures, exodus)
        stats["exodus_covered"] = len(covered)
        stats["exodus_with_network_signature"] = len(covered) + len(missing)
        stats["exodus_missing"] = sorted(missing)
    return stats


def rules_without_examples(database: SignatureDatabase) -> list[tuple[str, int]]:
    """(sdk id, rule position) of network rules that no ``match`` example of their file exercises."""
    missing: list[tuple[str, int]] = []
    for sig in database.signatures:
        used: set[int] = set()
        for example in sig.match:
            attribution = database.index.attribute(example_observation(example))
            if attribution is not None and attribution.sdk_id == sig.id:
                used.add(int(attribution.rule.split("#", 1)[1].split(":", 1)[0]))
        missing.extend((sig.id, position) for position in range(len(sig.network)) if position not in used)
    return missing


@lru_cache(maxsize=1)
def default_index() -> SignatureIndex:
    """The shipped database. Files that do not validate are left out with a warning (validate reports them)."""
    database = load_database()
    for path, problems in database.load_problems.items():
        log.warning("signature file skipped: %s: %s", path, problems[0])
    return database.index
