"""Neutralising captured text for the places it ends up: spreadsheets and terminals."""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value: object) -> object:
    """Cells starting like a formula get a leading apostrophe so CSV/XLSX viewers show them as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def terminal_safe(value: str, limit: int = 200) -> str:
    """Printable one-line text: control characters (ANSI escapes included) shown as \\xNN."""
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in value[:limit])
    return out + ("…" if len(value) > limit else "")
