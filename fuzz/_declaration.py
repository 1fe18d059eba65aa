"""What the declaration-importer targets share: run the real import on one file of a given format."""

from __future__ import annotations

from _harness import Pieces, instrumented_imports, scratch_file

with instrumented_imports():
    from flowaudit.core.declarations import DeclarationError
    from flowaudit.declare_import import import_files

EXPECTED: tuple[type[BaseException], ...] = (DeclarationError,)

SDK_HEADER = ("SDK名称", "第三方名称", "使用目的", "收集个人信息类型", "隐私政策链接", "包名")
PI_HEADER = ("信息名称", "信息类别", "收集场景", "收集目的", "收集频次")
_SIGNATURES: list | None = None


def signatures() -> list:
    """A slice of the shipped signature database: real name matching, cheap enough per input."""
    global _SIGNATURES
    if _SIGNATURES is None:
        from flowaudit.signature_db import default_index

        _SIGNATURES = sorted(default_index().signatures.values(), key=lambda s: s.id)[:80]
    return _SIGNATURES


def cells(pieces: Pieces, columns: int) -> list[str]:
    return [pieces.chunk(60).decode("utf-8", "replace") for _ in range(columns)]


def rows(data: bytes) -> tuple[tuple[str, ...], list[list[str]]]:
    """A known header (SDK list or collected-information list) and rows of fuzzed cells."""
    pieces = Pieces(data)
    header = SDK_HEADER if pieces.byte() & 1 else PI_HEADER
    body = []
    while pieces.left and len(body) < 20:
        body.append(cells(pieces, len(header)))
    return header, body


def run_import(name: str, data: bytes) -> None:
    try:
        report = import_files([scratch_file(name, data)], signatures=signatures())
    except EXPECTED:
        return
    assert report.declaration is not None
    report.to_dict()
