"""Fuzz target: TLS record splitting, handshake reassembly and ClientHello / ServerHello parsing (server
name, ALPN, versions). Bad handshakes raise TlsParseError, the documented error; nothing else may escape."""

from __future__ import annotations

import sys

from _harness import Pieces, instrumented_imports, main

with instrumented_imports():
    from flowaudit.readers.capture.tls import (
        HandshakeBuffer,
        RecordBuffer,
        TlsParseError,
        looks_like_client_hello,
        parse_client_hello,
        parse_server_hello,
    )

EXPECTED: tuple[type[BaseException], ...] = (TlsParseError,)


def _hello(parse, body: bytes) -> None:  # type: ignore[no-untyped-def]
    try:
        hello = parse(body)
    except EXPECTED:
        return
    name = getattr(hello, "server_name", None)
    assert name is None or isinstance(name, str)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    looks_like_client_hello(data)
    # the bytes as a handshake body on their own
    _hello(parse_client_hello, data)
    _hello(parse_server_hello, data)
    # the bytes as a stream of records, split where the input says
    pieces = Pieces(data)
    records, handshakes = RecordBuffer(), HandshakeBuffer()
    while pieces.left:
        for ctype, header, fragment in records.feed(pieces.chunk(pieces.byte())):
            assert len(header) == 5 and 20 <= ctype <= 24
            if ctype == 22:
                for mtype, body in handshakes.feed(fragment):
                    _hello(parse_client_hello if mtype == 1 else parse_server_hello, body)


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
