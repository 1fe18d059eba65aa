"""Fuzz target: the declaration importer on YAML declaration files (safe loading, alias expansion and depth
limits, schema validation). The input as a whole file, and spliced into the values of a valid declaration.
DeclarationError (the importer's ImportError_) is the documented error."""

from __future__ import annotations

import sys

from _declaration import EXPECTED, run_import
from _harness import Pieces, main

__all__ = ["EXPECTED", "TestOneInput"]

TEMPLATE = """format_version: 1
app:
  name: {0}
  package: {1}
consent:
  marker: {2}
  requests:
    - host: {3}
      path_regex: {4}
sdk_list:
  - name: {5}
    vendor: {6}
    pi_types: [{7}]
pi_list:
  - type: {8}
    frequency: {9}
"""


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    run_import("input.yaml", data)
    pieces = Pieces(data)
    values = [pieces.chunk(40).decode("utf-8", "replace").replace("\x00", "") for _ in range(10)]
    run_import("template.yaml", TEMPLATE.format(*values).encode("utf-8", "surrogatepass"))


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
