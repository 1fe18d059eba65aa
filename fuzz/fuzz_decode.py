"""Fuzz target: the decode entry points (flowaudit.core.decode): one payload on its own under every
content type the decoder branches on, and whole requests whose path, query, headers, cookies and body come
from the input, with any Content-Encoding chain. Documented never to raise: budgets stop hostile input."""

from __future__ import annotations

import sys

from _harness import Pieces, instrumented_imports, main

with instrumented_imports():
    from flowaudit.core.decode import Budget, decode_bytes, decode_observation
    from flowaudit.core.model import Observation

EXPECTED: tuple[type[BaseException], ...] = ()
CONTENT_TYPES = ("", "application/json", "application/x-www-form-urlencoded", "application/x-protobuf",
                 "application/grpc", "multipart/form-data; boundary=XyZ", "multipart/form-data", "text/plain",
                 "application/octet-stream")
ENCODINGS = ("", "gzip", "deflate", "br", "zstd", "gzip, br", "identity", "x-gzip", "compress")
# a small budget keeps each input fast; the limits are what is being exercised
BUDGET = Budget(max_bytes=1 << 20, max_inflate=256 << 10, max_fields=2000)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape").encode("utf-8", "replace").decode("utf-8")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    pieces = Pieces(data)
    selector = pieces.byte()
    result = decode_bytes(data, content_type=CONTENT_TYPES[selector % len(CONTENT_TYPES)], budget=BUDGET)
    assert len(result.fields) <= BUDGET.max_fields
    headers = [("Content-Type", CONTENT_TYPES[pieces.byte() % len(CONTENT_TYPES)]),
               ("Content-Encoding", ENCODINGS[pieces.byte() % len(ENCODINGS)])]
    for _ in range(pieces.byte() % 4):
        headers.append((_text(pieces.chunk(16)) or "X-A", _text(pieces.chunk(200))))
    headers.append(("Cookie", _text(pieces.chunk(100))))
    obs = Observation(ts=1.0, host="fuzz.example", method="POST", scheme="https", path="/" + _text(pieces.chunk(80)),
                      query=_text(pieces.chunk(120)), headers=headers, body=pieces.rest())
    result = decode_observation(obs, BUDGET)
    for field in result.fields:
        assert isinstance(field.value, str) and isinstance(field.chain, str)


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
