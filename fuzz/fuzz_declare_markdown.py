"""Fuzz target: the declaration importer on Markdown files (pipe tables, "key: value" blocks, links).
The input as a whole file, and as the cells of a pipe table under a known header. DeclarationError (the
importer's ImportError_) is the documented error."""

from __future__ import annotations

import sys

from _declaration import EXPECTED, rows, run_import
from _harness import main

__all__ = ["EXPECTED", "TestOneInput"]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    run_import("input.md", data)
    header, body = rows(data)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    run_import("table.md", "\n".join(lines).encode("utf-8", "surrogatepass"))


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
