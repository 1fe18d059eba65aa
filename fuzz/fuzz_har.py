"""Fuzz target: the HAR importer. The input as a whole file, and as the strings of a well-formed HAR
entry (URL, method, headers, post data with or without base64, response) so the entry mapping is reached.
HarError is the documented error; read_har also records per-entry errors instead of raising."""

from __future__ import annotations

import json
import sys

from _harness import Pieces, instrumented_imports, main, scratch_file

with instrumented_imports():
    from flowaudit.readers.har import HarError, observation_from_entry, read_har

EXPECTED: tuple[type[BaseException], ...] = (HarError,)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _entry(pieces: Pieces) -> dict:
    flags = pieces.byte()
    post: dict = {"mimeType": _text(pieces.chunk(40)), "text": _text(pieces.chunk())}
    if flags & 1:
        post["encoding"] = "base64"
    if flags & 2:
        post = {"params": [{"name": _text(pieces.chunk(20)), "value": _text(pieces.chunk(40))}]}
    return {
        "startedDateTime": _text(pieces.chunk(40)) if flags & 4 else "2026-01-02T03:04:05.678Z",
        "serverIPAddress": _text(pieces.chunk(30)),
        "request": {"method": _text(pieces.chunk(12)), "url": _text(pieces.chunk(200)),
                    "httpVersion": _text(pieces.chunk(12)),
                    "headers": [{"name": _text(pieces.chunk(20)), "value": _text(pieces.chunk(80))}
                                for _ in range(pieces.byte() % 4)],
                    "postData": post},
        "response": {"status": pieces.uint(2) - 100 if flags & 8 else 200, "headers": [],
                     "content": {"size": pieces.uint(2) - 10, "text": _text(pieces.chunk()),
                                 **({"encoding": "base64"} if flags & 16 else {})}},
    }


def _read(data: bytes) -> None:
    errors: list[str] = []
    try:
        for obs in read_har(scratch_file("input.har", data), errors=errors):
            assert obs.host and isinstance(obs.body, bytes)
            _ = obs.url
    except EXPECTED:
        pass
    assert all(isinstance(e, str) for e in errors)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    _read(data)
    pieces = Pieces(data)
    entries = [_entry(pieces) for _ in range(1 + pieces.byte() % 3)]
    for entry in entries:
        try:
            observation_from_entry(entry)
        except EXPECTED:
            pass
    _read(json.dumps({"log": {"version": "1.2", "entries": entries + [None, 1, "x"]}}).encode())


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
