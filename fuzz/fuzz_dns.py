"""Fuzz target: DNS query parsing (flowaudit.readers.capture.dns.parse_query), documented never to raise."""

from __future__ import annotations

import sys

from _harness import instrumented_imports, main

with instrumented_imports():
    from flowaudit.readers.capture.dns import parse_query

EXPECTED: tuple[type[BaseException], ...] = ()


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    names = parse_query(data)
    assert isinstance(names, list) and len(names) <= 8
    for name in names:
        assert isinstance(name, str) and 0 < len(name) <= 253


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
