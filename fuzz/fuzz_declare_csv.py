"""Fuzz target: the declaration importer on CSV files (published SDK and personal-information tables).
The input as a whole file, and as the cells of a table under a known header. DeclarationError (the
importer's ImportError_) is the documented error."""

from __future__ import annotations

import csv
import io
import sys

from _declaration import EXPECTED, rows, run_import
from _harness import main

__all__ = ["EXPECTED", "TestOneInput"]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    run_import("input.csv", data)
    header, body = rows(data)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(body)
    run_import("table.csv", out.getvalue().encode("utf-8", "surrogatepass"))


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
