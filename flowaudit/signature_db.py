"""Loads the shipped signature files (sdk_signatures/) into a SignatureIndex. Data only, never fetched."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from flowaudit.core.signature_schema import Signature
from flowaudit.core.signatures import SignatureIndex


class SignatureFileError(ValueError):
    pass


def signatures_dir() -> Path:
    return Path(str(resources.files("flowaudit.sdk_signatures")))


def signature_files(directory: Path | None = None) -> list[Path]:
    root = directory or signatures_dir()
    return sorted(p for p in root.glob("*/*.yaml"))


def load_signature_file(path: Path) -> Signature:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Signature.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise SignatureFileError(f"{path}: {exc}") from None


def load_signatures(directory: Path | None = None) -> list[Signature]:
    return [load_signature_file(p) for p in signature_files(directory)]


@lru_cache(maxsize=1)
def default_index() -> SignatureIndex:
    return SignatureIndex(load_signatures())
