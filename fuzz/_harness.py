"""Shared helpers for the fuzz targets: split one fuzz input into the pieces a target needs.

Each target module in this folder exposes ``TestOneInput(data: bytes)`` and ``EXPECTED`` (the exception
types the component documents for bad input). ``TestOneInput`` swallows exactly those; anything else is a
bug and propagates to the fuzzer. Run a target directly with atheris (``python fuzz/fuzz_dns.py CORPUS``),
or all of them with ``python fuzz/run.py``.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

# True when a target runs as the fuzzer (python fuzz/fuzz_x.py ...), False when tests import it.
FUZZING = Path(sys.argv[0]).name.startswith("fuzz_")


def instrumented_imports() -> AbstractContextManager[object]:
    """Around a target's flowaudit imports: coverage instrumentation of flowaudit's code when fuzzing."""
    if not FUZZING:
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=["flowaudit"])


class Pieces:
    """Deterministic consumption of a fuzz input: small integers and byte slices from the front."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uint(self, size: int) -> int:
        return int.from_bytes(bytes(self.byte() for _ in range(size)), "big")

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def chunk(self, limit: int = 255) -> bytes:
        return self.take(self.byte() % (limit + 1))

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


_SCRATCH: Path | None = None


def scratch_file(name: str, data: bytes) -> Path:
    """Write ``data`` to a file called ``name`` in a per-process scratch directory (reused across inputs)."""
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = Path(tempfile.mkdtemp(prefix="flowaudit-fuzz-"))
    path = _SCRATCH / name
    path.write_bytes(data)
    return path


def main(test_one_input: Callable[[bytes], None]) -> None:
    """Entry point of every target: coverage-guided fuzzing with atheris (libFuzzer flags in argv).
    flowaudit's modules were instrumented for coverage when the target imported them."""
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
