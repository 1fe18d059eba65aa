"""Fuzz target: the declaration importer on HTML files (privacy-policy pages with tables, nested tags,
spans). The input as a whole file, and as the cells of a <table> under a known header. DeclarationError
(the importer's ImportError_) is the documented error."""

from __future__ import annotations

import sys

from _declaration import EXPECTED, rows, run_import
from _harness import main

__all__ = ["EXPECTED", "TestOneInput"]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    run_import("input.html", data)
    header, body = rows(data)
    html = ["<html><body><table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"]
    html += ["<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" for cells in body]
    html.append("</table></body></html>")
    run_import("table.html", "".join(html).encode("utf-8", "surrogatepass"))


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
