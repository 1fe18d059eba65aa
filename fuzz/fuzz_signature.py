"""Fuzz target: loading one SDK signature YAML file (safe loader, schema validation). The input as a
whole file, and spliced into the values of a valid signature. SignatureFileError is the documented error."""

from __future__ import annotations

import sys

from _harness import Pieces, instrumented_imports, main, scratch_file

with instrumented_imports():
    from flowaudit.signature_db import SignatureFileError, load_signature_file

EXPECTED: tuple[type[BaseException], ...] = (SignatureFileError,)
_TEMPLATE: str | None = None


def template() -> str:
    """A shipped signature file with its first values replaced by placeholders."""
    global _TEMPLATE
    if _TEMPLATE is None:
        from flowaudit.signature_db import signature_files

        _TEMPLATE = signature_files()[0].read_text(encoding="utf-8")
    return _TEMPLATE


def _load(data: bytes) -> None:
    try:
        signature = load_signature_file(scratch_file("fuzz.yaml", data))
    except EXPECTED:
        return
    assert signature.id


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    _load(data)
    pieces = Pieces(data)
    lines = template().splitlines()
    while pieces.left >= 2 and lines:
        at = pieces.byte() % len(lines)
        key, sep, _ = lines[at].partition(":")
        if sep:
            lines[at] = f"{key}: {pieces.chunk(60).decode('utf-8', 'replace')}"
    _load("\n".join(lines).encode("utf-8", "surrogatepass"))


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
