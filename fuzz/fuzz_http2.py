"""Fuzz target: HTTP/2 frames and HPACK (decrypted HTTPS in captures), client and server sides in
fuzz-chosen slices, with holes. Documented never to raise."""

from __future__ import annotations

import sys

from _harness import Pieces, instrumented_imports, main

with instrumented_imports():
    from flowaudit.readers.capture.http1 import HttpExchange
    from flowaudit.readers.capture.http2 import PREFACE, Http2Connection

SERVER = b"\n--server--\n"
EXPECTED: tuple[type[BaseException], ...] = ()


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    pieces = Pieces(data)
    emitted: list[HttpExchange] = []
    connection = Http2Connection(emitted.append, lambda: 1.0)
    mode = pieces.byte()
    if mode & 0x80:
        # slices of either side, and holes, where the input says
        if mode & 1:
            connection.feed(True, PREFACE)
        while pieces.left:
            op = pieces.byte()
            if op % 17 == 0:
                connection.gap(bool(op & 0x20))
                continue
            connection.feed(bool(op & 1), pieces.chunk(op | 0x40))
    else:
        # the client's bytes, then SERVER and the server's bytes
        client, _, server = pieces.rest().partition(SERVER)
        connection.feed(True, client)
        connection.feed(False, server)
    connection.finish()
    for exchange in emitted:
        assert isinstance(exchange.method, str)


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
